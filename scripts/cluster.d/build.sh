# shellcheck shell=bash
# `scripts/cluster build`: the pinned binaries, built once from the Go module proxy into $CACHE.
# Each component builds into a temporary directory that is renamed into place only when complete,
# so an interrupted build is redone, never half-used. Cold on 2 shared cores: ~15 min (the kubelet
# alone ~10); a cache hit is instant.

DEBIAN_PACKAGES=(runc containernetworking-plugins iptables conntrack openssl)

# Installs the Debian packages the node needs (runc, the CNI plugins, iptables, conntrack,
# openssl) when any is missing.
ensure_debian_packages() {
  local missing=() p
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep 'install ok installed' >/dev/null || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "apt-get install ${missing[*]}"
  mkdir -p "$LOGS"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y \
    --no-install-recommends "${missing[@]}" >"$LOGS/apt.log" 2>&1 ||
    fail_component apt "could not install ${missing[*]}"
}

# Each _build_<component> OUT LOG builds into OUT, appending to LOG. They run under `if !`, where
# bash ignores `set -e`, so every step checks its status itself.
_go() { nice -n 10 env CGO_ENABLED=0 GOFLAGS=-trimpath GOTOOLCHAIN=local go "$@"; }

_build_component() {
  local name=$1 final=$2 builder=$3
  if [ -f "$final/../COMPLETE" ]; then
    return 0
  fi
  local tmp=$final.tmp.$$ log=$LOGS/build-$name.log start=$SECONDS
  rm -rf "$tmp" && mkdir -p "$tmp" "$LOGS"
  : >"$log"
  say "build $name (log: $log)"
  if ! "$builder" "$tmp" "$log"; then
    rm -rf "$tmp"
    fail_component "build-$name" "build failed"
  fi
  rm -rf "$final" && mv "$tmp" "$final"
  date -u +%FT%TZ >"$final/../COMPLETE"
  say "build $name: done in $((SECONDS - start)) s"
}

_build_kubernetes() {
  local out=$1 log=$2 cmd pkg="k8s.io/component-base/version" cg="k8s.io/client-go/pkg/version"
  local ver=${K8S_VERSION#v} ldflags="-s -w"
  local date=2026-02-10T12:53:36Z # v1.34.4's release time on the module proxy
  for v in "$pkg" "$cg"; do
    ldflags+=" -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=${ver%%.*}"
    ldflags+=" -X $v.gitMinor=$(echo "$ver" | cut -d. -f2) -X $v.gitCommit="
    ldflags+=" -X $v.gitTreeState=clean -X $v.buildDate=$date"
  done
  (
    cd "$here/cluster.d/kubernetes"
    say "  kubernetes: go mod download"
    _go mod download >>"$log" 2>&1 || exit 1
    for cmd in kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubectl kubelet; do
      local t=$SECONDS
      say "  kubernetes: go build $cmd"
      _go build -ldflags "$ldflags" -o "$out/$cmd" "k8s.io/kubernetes/cmd/$cmd" >>"$log" 2>&1 || exit 1
      say "  kubernetes: $cmd built in $((SECONDS - t)) s"
    done
  )
}

_build_etcd() {
  local out=$1 log=$2
  (
    cd "$here/cluster.d/etcd" &&
      _go mod download >>"$log" 2>&1 &&
      _go build -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3 >>"$log" 2>&1
  )
}

_build_containerd() {
  local out=$1 log=$2 c m=github.com/containerd/containerd/v2/cmd
  for c in containerd containerd-shim-runc-v2 ctr; do
    GOBIN=$out _go install -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION" \
      "$m/$c@$CONTAINERD_VERSION" >>"$log" 2>&1 || return 1
  done
}

_build_metrics_server() {
  local out=$1 log=$2
  GOBIN=$out _go install -ldflags "-s -w" \
    "sigs.k8s.io/metrics-server/cmd/metrics-server@$METRICS_SERVER_VERSION" >>"$log" 2>&1
}

cluster_build() {
  command -v go >/dev/null || die "go is not installed (scripts/setup installs it)"
  mkdir -p "$CACHE"
  local start=$SECONDS
  ensure_debian_packages
  _build_component etcd "$ETCD_BIN" _build_etcd
  _build_component containerd "$CONTAINERD_BIN" _build_containerd
  _build_component metrics-server "$METRICS_SERVER_BIN" _build_metrics_server
  _build_component kubernetes "$K8S_BIN" _build_kubernetes
  link_current_binaries
  say "binaries ready in $CACHE/bin ($((SECONDS - start)) s)"
}

# $CACHE/bin holds a link to each binary of the pinned versions (one directory for PATH; other
# scripts, e.g. scripts/images, find ctr there).
link_current_binaries() {
  local d f
  mkdir -p "$CACHE/bin"
  for d in "$K8S_BIN" "$ETCD_BIN" "$CONTAINERD_BIN" "$METRICS_SERVER_BIN"; do
    for f in "$d"/*; do
      ln -sfn "$f" "$CACHE/bin/$(basename "$f")"
    done
  done
}

# True when every binary is in the cache.
binaries_built() {
  local d
  for d in "$K8S_BIN" "$ETCD_BIN" "$CONTAINERD_BIN" "$METRICS_SERVER_BIN"; do
    [ -f "$d/../COMPLETE" ] || return 1
  done
}
