#!/usr/bin/env bash
# Runs every reference-server test: setup, the builds, cargo test, go test, pytest, and the
# conformance test of the three running servers. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

step() { printf '\n=== %s\n' "$*"; }

step "setup"
./setup
step "build rust (release, LTO)"
cargo build --release --locked --quiet --manifest-path rust/Cargo.toml
step "build go"
(cd go && go vet ./... && go build -o bin/refserver .)
step "cargo test"
cargo test --locked --quiet --manifest-path rust/Cargo.toml
step "go test"
(cd go && go test ./...)
step "pytest (django)"
(cd django && .venv/bin/python -m pytest -q)
step "pytest (conformance)"
django/.venv/bin/python -m pytest -q -p no:cacheprovider conformance
