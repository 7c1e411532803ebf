# shellcheck shell=bash
# scripts/cluster's settings and shared helpers; the subcommands live in the files sourced below.

# Pinned versions (the reference reports ran Kubernetes v1.34).
K8S_VERSION=v1.34.4         # scripts/cluster.d/kubernetes/go.mod
ETCD_VERSION=v3.6.17        # scripts/cluster.d/etcd/go.mod
CONTAINERD_VERSION=v2.4.2
METRICS_SERVER_VERSION=v0.8.1

# Where things live. The binary cache is outside the repository so that every clone (CI's
# included) reuses one build; each component has its own versioned directory.
CACHE=${PODMETER_CLUSTER_CACHE:-/var/cache/podmeter/cluster}
STATE=${PODMETER_CLUSTER_STATE:-/var/lib/podmeter-cluster}
RUN=/run/podmeter-cluster
LOGS=/var/log/podmeter-cluster
KUBELET_DIR=$STATE/kubelet              # the kubelet's --root-dir (never /var/lib/kubelet)
CONTAINERD_SOCK=$RUN/containerd/containerd.sock
CGROUP_ROOT=/podmeter-node              # the kubelet's cgroupRoot, ours in every v1 hierarchy

# Addresses, all inside 198.18.0.0/15 (the benchmarking range) on a bridge of ours. The CNI
# bridge plugin accepts no IPv4 address on its bridge but the pods' gateway, so the node IP is
# that gateway: the bridge holds 198.18.0.1/23, the pods get 198.18.1.0/24 out of that subnet.
BRIDGE=pmbr0
NODE_IP=198.18.0.1
NODE_PREFIX=23
NODE_SUBNET=198.18.0.0/23
POD_CIDR=198.18.1.0/24
POD_RANGE_START=198.18.1.1
POD_RANGE_END=198.18.1.254
SERVICE_CIDR=198.19.0.0/24
KUBERNETES_SERVICE_IP=198.19.0.1
NODE_NAME=podmeter-node
# Host-side ports of the host processes (all bound to NODE_IP or 127.0.0.1 only).
APISERVER_PORT=6443
ETCD_PORT=2379
ETCD_PEER_PORT=2380
METRICS_SERVER_PORT=4443

# The sysctls the kubelet, the bridge CNI and kube-proxy may change; `up` records them and `down`
# writes the recorded values back.
SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.ip_forward
  net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables
  net.ipv4.conf.all.route_localnet net.ipv4.conf.${BRIDGE}.route_localnet
  net.netfilter.nf_conntrack_max net.netfilter.nf_conntrack_tcp_timeout_established
  net.netfilter.nf_conntrack_tcp_timeout_close_wait net.ipv4.vs.conntrack)

K8S_BIN=$CACHE/kubernetes-$K8S_VERSION/bin
ETCD_BIN=$CACHE/etcd-$ETCD_VERSION/bin
CONTAINERD_BIN=$CACHE/containerd-$CONTAINERD_VERSION/bin
METRICS_SERVER_BIN=$CACHE/metrics-server-$METRICS_SERVER_VERSION/bin
KUBECTL=$K8S_BIN/kubectl
KUBECONFIG_ADMIN=$STATE/pki/admin.kubeconfig

say() { printf '[cluster %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() {
  printf 'cluster: %s\n' "$*" >&2
  exit 1
}
need_root() { [ "$(id -u)" = 0 ] || die "must run as root (it starts a kubelet and a container runtime)"; }

# `fail_component NAME` ends with the component's name, its log path and the log's last lines.
fail_component() {
  local name=$1 why=$2 log=$LOGS/$1.log
  if [ -f "$log" ]; then
    printf -- '--- last lines of %s\n' "$log" >&2
    tail -n 15 "$log" >&2
  fi
  die "$name: $why (log: $log)"
}

# `wait_for SECONDS DESCRIPTION COMMAND...` retries COMMAND every 0.5 s until it succeeds.
wait_for() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.5
  done
}

kc() { "$KUBECTL" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }

# shellcheck source=build.sh
. "$(dirname "${BASH_SOURCE[0]}")/build.sh"
# shellcheck source=pki.sh
. "$(dirname "${BASH_SOURCE[0]}")/pki.sh"
# shellcheck source=up.sh
. "$(dirname "${BASH_SOURCE[0]}")/up.sh"
# shellcheck source=down.sh
. "$(dirname "${BASH_SOURCE[0]}")/down.sh"
# shellcheck source=status.sh
. "$(dirname "${BASH_SOURCE[0]}")/status.sh"
