#!/usr/bin/env bash
# Builds the programs of the local Kubernetes control plane (test/cluster/README.md) from
# the Go modules under test/cluster/tools/, and renders cert-manager's CRDs:
#
#   .local/tools/etcd-<ver>/etcd
#   .local/tools/kube-<ver>/{kube-apiserver,kube-controller-manager,kubectl}
#   .local/tools/helm-<ver>/helm
#   .local/tools/cert-manager-<ver>/crds.yaml
#   .local/bin/{etcd,kube-apiserver,kube-controller-manager,kubectl,helm,cert-manager-crds.yaml}
#
# Each folder is keyed by the version its go.mod requires and holds a stamp (a hash of the
# module's files and of the build flags); a folder whose stamp matches is left alone, so a
# run with everything built prints nothing and takes milliseconds. Modules come from the
# Go module proxy, checked against go.sum. The Go caches are the usual per-user ones, so a
# fresh clone on a machine that has built before only links.
#
# Usage: bash test/cluster/build-tools.sh [--force]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tools_src="$here/tools"
tools_out="$root/.local/tools"
bin_out="$root/.local/bin"
logs="$root/.local/logs"
force=0
[ "${1-}" = "--force" ] && force=1

# The cert-manager release whose CRDs the cluster serves (from its Go module's Helm chart).
CERT_MANAGER_VERSION=v1.21.2
# Bump when the way the CRDs are rendered changes, so that they are rendered again.
CERT_MANAGER_RECIPE=1

# As the upstream release builds: static, no paths of this machine, no symbol tables.
export CGO_ENABLED=0
go_build_flags=(-trimpath)
ldflags_common='-s -w'

# The version a go.mod requires of a module, read without starting `go`.
required_version() { # go.mod module-path
  awk -v m="$2" '($1 == m || ($1 == "require" && $2 == m)) { print ($1 == m ? $2 : $3); exit }' "$1"
}

kube_version=$(required_version "$tools_src/kube/go.mod" k8s.io/kubernetes)
etcd_version=$(required_version "$tools_src/etcd/go.mod" go.etcd.io/etcd/server/v3)
helm_version=$(required_version "$tools_src/helm/go.mod" helm.sh/helm/v4)
for v in kube_version etcd_version helm_version; do
  [ -n "${!v}" ] || { echo "build-tools: no $v in test/cluster/tools/*/go.mod" >&2; exit 1; }
done

# Version stamping as Kubernetes' hack/lib/version.sh does, so that `kubectl version` and
# /version tell the release. buildDate keeps its default (1970-01-01), so the build is
# reproducible; the commit is not known from a module.
kube_minor=${kube_version#v1.}
kube_minor=${kube_minor%%.*}
kube_ldflags=$ldflags_common
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$kube_minor"
  kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit="
done
# etcd's version is a constant of its api module; Helm's is set as its Makefile does.
etcd_ldflags=$ldflags_common
helm_ldflags="$ldflags_common -X helm.sh/helm/v4/internal/version.version=$helm_version"
helm_ldflags+=" -X helm.sh/helm/v4/internal/version.gitTreeState=clean"

stamp_of() { # text...
  printf '%s\n' "$@" | sha256sum | cut -c1-16
}
module_stamp() { # module-dir ldflags
  stamp_of "$2" "${go_build_flags[*]} CGO_ENABLED=$CGO_ENABLED" "$(cat "$1/go.mod" "$1/go.sum" "$1"/*/main.go)"
}
is_built() { # out-dir stamp
  [ "$force" = 0 ] && [ -f "$1/.stamp" ] && [ "$(<"$1/.stamp")" = "$2" ]
}
link() { # target (relative to .local/bin) name
  if [ "$(readlink "$bin_out/$2" 2>/dev/null)" != "$1" ]; then
    ln -sfn "$1" "$bin_out/$2"
  fi
}

# Builds one module's main packages into a new folder, then moves it into place. Building
# them with one `go build` compiles the packages they share once and links in parallel.
build_module() { # name version ldflags stamp package...
  local name=$1 version=$2 ldflags=$3 stamp=$4
  shift 4
  local out="$tools_out/$name-$version"
  local tmp="$out.tmp.$$"
  local started=$SECONDS
  rm -rf "$tmp"
  mkdir -p "$tmp"
  (cd "$tools_src/$name" && go build "${go_build_flags[@]}" -ldflags="$ldflags" -o "$tmp/" "$@")
  echo "$stamp" >"$tmp/.stamp"
  rm -rf "$out"
  mv "$tmp" "$out"
  echo "[build-tools] built $name $version in $((SECONDS - started)) s"
}

# cert-manager's CRDs, rendered from the Helm chart in its Go module the way its release
# makes the published cert-manager.crds.yaml (`--set creator=static`: no Helm labels).
render_cert_manager_crds() { # helm out-file
  local helm=$1 out=$2 module_dir tmp
  tmp=$(mktemp -d)
  module_dir=$(cd "$tmp" && go mod download -json "github.com/cert-manager/cert-manager@$CERT_MANAGER_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  if [ ! -f "$module_dir/deploy/charts/cert-manager/Chart.yaml" ]; then
    echo "build-tools: no Helm chart in the cert-manager $CERT_MANAGER_VERSION module" >&2
    return 1
  fi
  cp -r "$module_dir/deploy/charts/cert-manager" "$tmp/chart"
  chmod -R u+w "$tmp/chart"
  # The release tool writes the version into Chart.yaml; in the module it is v0.0.0.
  sed -i -E "s/^(version|appVersion): .*/\1: $CERT_MANAGER_VERSION/" "$tmp/chart/Chart.yaml"
  local show=() template
  for template in "$tmp"/chart/templates/crd-*.yaml; do
    show+=(--show-only "templates/${template##*/}")
  done
  "$helm" template cert-manager "$tmp/chart" --namespace cert-manager \
    --set crds.enabled=true --set creator=static --set startupapicheck.enabled=false \
    "${show[@]}" >"$out"
  rm -rf "$tmp"
  if ! grep -q '^kind: CustomResourceDefinition' "$out" || grep -q '{{' "$out"; then
    echo "build-tools: $out is not plain CRD YAML" >&2
    return 1
  fi
}

etcd_stamp=$(module_stamp "$tools_src/etcd" "$etcd_ldflags")
kube_stamp=$(module_stamp "$tools_src/kube" "$kube_ldflags")
helm_stamp=$(module_stamp "$tools_src/helm" "$helm_ldflags")
cm_out="$tools_out/cert-manager-$CERT_MANAGER_VERSION"
cm_stamp=$(stamp_of "$CERT_MANAGER_VERSION" "$CERT_MANAGER_RECIPE" "$helm_version")

if ! is_built "$tools_out/etcd-$etcd_version" "$etcd_stamp" ||
  ! is_built "$tools_out/kube-$kube_version" "$kube_stamp" ||
  ! is_built "$tools_out/helm-$helm_version" "$helm_stamp" ||
  ! is_built "$cm_out" "$cm_stamp"; then
  if ! command -v go >/dev/null; then
    echo "build-tools: Go is needed to build the control plane (test/cluster/README.md)" >&2
    exit 1
  fi
  echo "[build-tools] building Kubernetes $kube_version, etcd $etcd_version and Helm $helm_version into .local/tools (a first build takes a while; logs in .local/logs/build-*.log)"
  mkdir -p "$tools_out" "$logs"
  started=$SECONDS
  # The modules build side by side: one downloads or links while another compiles.
  pids=()
  names=()
  for spec in "kube|$kube_version|$kube_ldflags|$kube_stamp|./kube-apiserver ./kube-controller-manager ./kubectl" \
    "etcd|$etcd_version|$etcd_ldflags|$etcd_stamp|./etcd" \
    "helm|$helm_version|$helm_ldflags|$helm_stamp|./helm"; do
    IFS='|' read -r name version ldflags stamp pkgs <<<"$spec"
    is_built "$tools_out/$name-$version" "$stamp" && continue
    # shellcheck disable=SC2086 # pkgs is a list of package paths
    build_module "$name" "$version" "$ldflags" "$stamp" $pkgs >"$logs/build-$name.log" 2>&1 &
    pids+=($!)
    names+=("$name")
  done
  failed=0
  for i in "${!pids[@]}"; do
    if wait "${pids[$i]}"; then
      tail -n 1 "$logs/build-${names[$i]}.log"
    else
      failed=1
      echo "build-tools: building ${names[$i]} failed; the end of .local/logs/build-${names[$i]}.log:" >&2
      tail -n 30 "$logs/build-${names[$i]}.log" >&2
    fi
  done
  [ "$failed" = 0 ] || exit 1

  if ! is_built "$cm_out" "$cm_stamp"; then
    tmp="$cm_out.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    render_cert_manager_crds "$tools_out/helm-$helm_version/helm" "$tmp/crds.yaml"
    echo "$cm_stamp" >"$tmp/.stamp"
    rm -rf "$cm_out"
    mv "$tmp" "$cm_out"
    echo "[build-tools] rendered the CRDs of cert-manager $CERT_MANAGER_VERSION"
  fi
  echo "[build-tools] done in $((SECONDS - started)) s"
fi

mkdir -p "$bin_out"
link "../tools/etcd-$etcd_version/etcd" etcd
for b in kube-apiserver kube-controller-manager kubectl; do
  link "../tools/kube-$kube_version/$b" "$b"
done
link "../tools/helm-$helm_version/helm" helm
link "../tools/cert-manager-$CERT_MANAGER_VERSION/crds.yaml" cert-manager-crds.yaml
