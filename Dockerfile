# syntax=docker/dockerfile:1
# One image, two entry points: `dicom-guard operator` and `dicom-guard sidecar`.
#   docker build -t ghcr.io/dicom-guard/dicom-guard:0.1.0 .
# Non-root (65532), read-only root filesystem friendly (writes nothing to disk), only
# production dependencies, no shell or package manager in the final image.

ARG NODE_VERSION=24.21.0

FROM docker.io/library/node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the `node` devDependency pins Node.js for development only; the
# image's own Node.js 24 builds and runs the code.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY cmd cmd
COPY sidecar sidecar
COPY operator operator
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM gcr.io/distroless/nodejs24-debian12:nonroot
LABEL org.opencontainers.image.title="dicom-guard" \
      org.opencontainers.image.description="DICOM access control: Kubernetes operator and sidecar proxy for PACS servers" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/dicom-guard/dicom-guard"
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY bin ./bin
USER 65532:65532
ENV NODE_ENV=production
EXPOSE 11112 9095 9443
ENTRYPOINT ["/nodejs/bin/node", "/app/bin/dicom-guard.js"]
CMD ["--help"]
