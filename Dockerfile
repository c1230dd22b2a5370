# syntax=docker/dockerfile:1
#
# The tickets server: one image with the `api` binary and the built web UI.
#
#   docker build -t tickets-api .
#   docker run --rm -p 8080:8080 tickets-api          # SQLite in /data, in-process backends
#
# Stages: `chef` (Rust + cargo-chef), `planner` (dependency recipe), `builder` (dependencies in
# their own cached layer, then the workspace), `web` (Vite build of web/), and the runtime image
# (distroless, non-root, no shell).

ARG RUST_VERSION=1.95
ARG NODE_VERSION=20

# ---------------------------------------------------------------------------------------------
# Rust toolchain + cargo-chef (from crates.io), shared by the planner and the builder.
FROM rust:${RUST_VERSION}-bookworm AS chef
RUN cargo install cargo-chef --locked --version ^0.1
WORKDIR /src

# The recipe lists only what decides the dependency build (manifests and Cargo.lock), so the
# next stage's `cook` layer stays cached until a dependency changes.
FROM chef AS planner
COPY Cargo.toml Cargo.lock ./
COPY api ./api
COPY entity ./entity
COPY migration ./migration
# A workspace member, though not built here: the workspace does not load without it.
COPY bench ./bench
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release -p api --recipe-path recipe.json
COPY Cargo.toml Cargo.lock ./
COPY api ./api
COPY entity ./entity
COPY migration ./migration
COPY bench ./bench
# api/src/http/mod.rs embeds this page (served while WEB_DIR has no build).
COPY web/placeholder.html ./web/placeholder.html
RUN cargo build --release --locked -p api --bin api \
 && install -D -m 0755 target/release/api /out/api \
 && install -d -o 65532 -g 65532 /out/data

# ---------------------------------------------------------------------------------------------
# Web UI: `npm ci` in its own layer (cached until package-lock.json changes), then `vite build`.
FROM node:${NODE_VERSION}-bookworm-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# ---------------------------------------------------------------------------------------------
# Runtime: glibc + libgcc + CA certificates, no shell, no package manager, user 65532 (nonroot).
# Without a shell, the Kubernetes preStop hook uses the built-in `sleep` action (k8s >= 1.30).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /out/api /app/api
COPY --from=web /web/dist /app/web
# Writable working directory for the SQLite default (sqlite://tickets.db) when run without
# DATABASE_URL; Kubernetes runs with a read-only root filesystem and PostgreSQL instead.
COPY --from=builder --chown=65532:65532 /out/data /data
WORKDIR /data
# The server allocates with mimalloc, which backs its arenas with transparent huge pages where the
# kernel has them on: 34 MiB resident at start instead of 24 (docs/bench). No huge pages, then.
ENV HOST=0.0.0.0 \
    PORT=8080 \
    WEB_DIR=/app/web \
    MIMALLOC_ALLOW_THP=0
USER 65532:65532
EXPOSE 8080
# No HEALTHCHECK: the image has no shell or HTTP client to run one, and Kubernetes ignores it;
# the probes are /healthz (liveness) and /readyz (readiness) in k8s/base/api/deployment.yaml.
ENTRYPOINT ["/app/api"]
