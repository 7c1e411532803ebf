#!/usr/bin/env bash
# Runs every reference-server test: setup, the builds, cargo test, go test, pytest, and the
# conformance test of the seven running servers. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

step() { printf '\n=== %s\n' "$*"; }

step "setup"
./setup
step "build rust, actix, hyper (release, LTO)"
nice -n 10 cargo build --release --locked --quiet --manifest-path rust/Cargo.toml
step "build go, fasthttp"
(cd go && go vet ./... && go build -o bin/refserver . && go build -o bin/refserver-fasthttp ./fasthttp)
step "cargo test"
nice -n 10 cargo test --locked --quiet --workspace --manifest-path rust/Cargo.toml
step "go test"
(cd go && go test ./...)
step "pytest (django)"
(cd django && .venv/bin/python -m pytest -q)
step "pytest (flask)"
(cd flask && .venv/bin/python -m pytest -q)
step "pytest (conformance)"
django/.venv/bin/python -m pytest -q -p no:cacheprovider conformance
