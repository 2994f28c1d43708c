#!/usr/bin/env bash
# Installs the real programs the tests talk to (testing.md), skipping what is present:
#   apt:  dcmtk (clients, storescp), orthanc (PACS), nginx + stream module (benchmarks),
#         slapd + ldap-utils (LDAP identity), openssl (certificates at test time),
#         rsyslog + rsyslog-openssl (the audit repository), jing (audit message schema)
#   pip:  pynetdicom in .local/venv (an independent DICOM client)
#   go:   the Kubernetes control plane and Helm (test/cluster/build-tools.sh), if present
set -euo pipefail
cd "$(dirname "$0")/../.."

apt_packages=(dcmtk orthanc nginx libnginx-mod-stream slapd ldap-utils openssl python3-venv apache2-utils rsyslog rsyslog-openssl jing)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "[setup] apt-get install ${missing[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # Debian packages start their daemons where they can; tests start their own on free ports.
  $sudo apt-get update -q >/dev/null
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

venv=.local/venv
if ! "$venv/bin/python" -c 'import pynetdicom, pydicom' 2>/dev/null; then
  echo "[setup] python venv with pynetdicom in $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r test/setup/requirements.txt
fi

if [ -f test/cluster/build-tools.sh ]; then
  bash test/cluster/build-tools.sh
fi
