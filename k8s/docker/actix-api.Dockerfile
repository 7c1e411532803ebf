# syntax=docker/dockerfile:1
# The Rust actix-web reference server (servers/rust/actix), built as `servers/run actix` builds it
# (the Cargo workspace of servers/rust: release, LTO, stripped), on distroless cc (glibc). Context: the repository root:
#   docker build -f k8s/docker/actix-api.Dockerfile -t actix-api:dev .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY servers/setup servers/run servers/
COPY servers/rust servers/rust
RUN servers/setup rust \
 && cargo build --release --locked --quiet --manifest-path servers/rust/Cargo.toml

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/servers/rust/target/release/refserver-actix /refserver
ENV PORT=8080 HOST=0.0.0.0
EXPOSE 8080
ENTRYPOINT ["/refserver"]
