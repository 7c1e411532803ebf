# shellcheck shell=bash
# `scripts/cluster up`: host state record, bridge, cgroup root, PKI, then each component as a
# host process (pid in $RUN/<name>.pid, log in $LOGS/<name>.log), each waited for until healthy.
# A component already running and healthy is left alone, so a second `up` only checks.

# Paths outside our own directories that the node creates when they are missing; `down` removes
# the ones that did not exist before the first `up` (recorded in $STATE/host/created-paths).
HOST_PATHS=(/var/lib/kubelet /var/log/containers /var/lib/cni /run/containerd /run/netns
  /var/run/nri /opt/containerd /usr/libexec/kubernetes)

IMAGES_SCRIPT=${PODMETER_IMAGES_SCRIPT:-$here/images}
IMAGES_DIR=${PODMETER_IMAGES_DIR:-/var/cache/podmeter/images}
PAUSE_IMAGE=podmeter.local/pause:3.10 # scripts/images' pause, built from k8s/images/pause.c

# --- processes -------------------------------------------------------------------------------

pid_of() {
  local f=$RUN/$1.pid pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  # The pid must still be our binary (not a reused pid).
  [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(cat "$RUN/$1.exe" 2>/dev/null)" ] || return 1
  echo "$pid"
}

# `start_component NAME BINARY ARGS...`: starts BINARY in its own session, detached from this
# shell, unless NAME is already running.
start_component() {
  local name=$1 bin=$2
  shift 2
  local pid
  if pid=$(pid_of "$name"); then
    say "$name: already running (pid $pid)"
    return 0
  fi
  mkdir -p "$RUN" "$LOGS"
  printf '\n=== %s start: %s %s\n' "$(date -u +%FT%TZ)" "$bin" "$*" >>"$LOGS/$name.log"
  (
    # Inherit no descriptor but stdio: a lock held by our caller (flock(1), our own serialize)
    # must not stay held by the daemons.
    for fd in /proc/self/fd/*; do
      fd=${fd##*/}
      if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec setsid "$bin" "$@"
  ) </dev/null >>"$LOGS/$name.log" 2>&1 &
  local child=$! exe i
  exe=$(readlink -f "$bin")
  echo "$child" >"$RUN/$name.pid"
  echo "$exe" >"$RUN/$name.exe"
  # pid_of knows the process by its binary: wait until the subshell has exec'd it.
  for i in $(seq 1 100); do
    [ "$(readlink "/proc/$child/exe" 2>/dev/null)" = "$exe" ] && break
    [ -d "/proc/$child" ] || fail_component "$name" "exited at once"
    sleep 0.05
  done
  say "$name: started (pid $child, log $LOGS/$name.log)"
}

# `await NAME SECONDS DESCRIPTION CHECK...`: waits for CHECK, failing with NAME's log when NAME
# exits or the time runs out.
await() {
  local name=$1 seconds=$2 what=$3
  shift 3
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    pid_of "$name" >/dev/null || fail_component "$name" "exited before $what"
    [ $SECONDS -lt $deadline ] || fail_component "$name" "not $what after ${seconds} s"
    sleep 0.5
  done
}

# --- host state ------------------------------------------------------------------------------

record_host_state() {
  local dir=$STATE/host s p
  [ -f "$dir/sysctls" ] && return 0
  mkdir -p "$dir"
  : >"$dir/sysctls.tmp"
  for s in "${SYSCTLS[@]}"; do
    p=/proc/sys/${s//./\/}
    [ "$s" = "net.ipv4.conf.$BRIDGE.route_localnet" ] && continue # goes away with the bridge
    [ -f "$p" ] && printf '%s=%s\n' "$s" "$(cat "$p")" >>"$dir/sysctls.tmp"
  done
  : >"$dir/created-paths"
  for p in "${HOST_PATHS[@]}"; do
    [ -e "$p" ] || echo "$p" >>"$dir/created-paths"
  done
  mv "$dir/sysctls.tmp" "$dir/sysctls"
  say "host: recorded $(wc -l <"$dir/sysctls") sysctls and $(wc -l <"$dir/created-paths") paths to undo on down"
}

setup_bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge || die "network: cannot create bridge $BRIDGE"
  fi
  # (grep reads all its input: with pipefail, grep -q's early exit would fail `ip` by SIGPIPE)
  ip -4 -o addr show dev "$BRIDGE" | grep "inet $NODE_IP/$NODE_PREFIX " >/dev/null ||
    ip addr add "$NODE_IP/$NODE_PREFIX" dev "$BRIDGE" || die "network: cannot add $NODE_IP to $BRIDGE"
  ip link set "$BRIDGE" up
  # Pods reach each other through a Service only when bridged traffic passes iptables.
  sysctl -qw net.bridge.bridge-nf-call-iptables=1
  say "network: bridge $BRIDGE holds the node IP $NODE_IP"
}

# The kubelet's cgroupRoot must exist in every v1 hierarchy, with cpuset's cpus and mems set.
setup_cgroup_root() {
  local h
  for h in /sys/fs/cgroup/*/; do
    h=${h%/}
    mountpoint -q "$h" || continue
    mkdir -p "$h$CGROUP_ROOT"
  done
  local cs=/sys/fs/cgroup/cpuset$CGROUP_ROOT
  if [ -d "$cs" ]; then
    [ -n "$(cat "$cs/cpuset.cpus")" ] || cat /sys/fs/cgroup/cpuset/cpuset.cpus >"$cs/cpuset.cpus"
    [ -n "$(cat "$cs/cpuset.mems")" ] || cat /sys/fs/cgroup/cpuset/cpuset.mems >"$cs/cpuset.mems"
  fi
  say "cgroups: $CGROUP_ROOT in every hierarchy"
}

# --- configuration files ---------------------------------------------------------------------

# `install_config PATH` writes stdin to PATH only when it differs: kube-proxy exits when its
# configuration file is written to, even with the same content.
install_config() {
  local tmp=$1.tmp
  cat >"$tmp"
  if cmp -s "$tmp" "$1"; then
    rm -f "$tmp"
  else
    mv "$tmp" "$1"
  fi
}

write_configs() {
  local c=$STATE/config
  mkdir -p "$c" "$STATE/cni/net.d" "$STATE/volume-plugins" "$STATE/pod-logs" "$KUBELET_DIR"
  install_config "$c/containerd.toml" <<EOF
# containerd of the podmeter cluster: its own root, state and socket (no system containerd).
version = 3
root = "$STATE/containerd"
state = "$RUN/containerd"
# NRI would open /var/run/nri; the node needs neither it nor the other disabled plugins.
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.blockfile", "io.containerd.snapshotter.v1.erofs"]

[grpc]
  address = "$CONTAINERD_SOCK"

[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "$STATE/containerd-opt"

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  # Images are imported (scripts/images), never pulled: every registry resolves to a closed
  # loopback port, so a pull fails at once and no request leaves the machine.
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = "$STATE/config/registry"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "$PAUSE_IMAGE"

[plugins."io.containerd.cri.v1.runtime"]
  # Root here lacks CAP_SYS_RESOURCE: without this, lowering oom_score_adj fails every sandbox.
  restrict_oom_score_adj = true
  # Pod network namespaces under $RUN/containerd/netns, not /run/netns.
  netns_mounts_under_state_dir = true
  cdi_spec_dirs = []
  [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
      BinaryName = "$(command -v runc)"
      Root = "$RUN/runc"
      SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$STATE/cni/net.d"
    max_conf_num = 1

[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
EOF
  mkdir -p "$c/registry/_default"
  printf 'server = "http://127.0.0.1:9"\n' | install_config "$c/registry/_default/hosts.toml"
  install_config "$STATE/cni/net.d/10-podmeter.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "podmeter",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni/networks",
        "ranges": [[{"subnet": "$NODE_SUBNET", "gateway": "$NODE_IP",
          "rangeStart": "$POD_RANGE_START", "rangeEnd": "$POD_RANGE_END"}]],
        "routes": [{"dst": "198.18.0.0/15"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
  install_config "$c/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
imageServiceEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
cgroupRoot: $CGROUP_ROOT
cgroupsPerQOS: true
failCgroupV1: false
failSwapOn: false
podLogsDir: $STATE/pod-logs
volumePluginDir: $STATE/volume-plugins
# No nameservers in pods: nothing in them resolves names, and no query leaves the node.
resolvConf: ""
# The images are imported, never pulled: never garbage-collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 2%
  imagefs.available: 2%
  nodefs.inodesFree: 2%
rotateCertificates: false
serverTLSBootstrap: false
EOF
  install_config "$c/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection:
  kubeconfig: $PKI/kube-proxy.kubeconfig
hostnameOverride: $NODE_NAME
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
clusterCIDR: $POD_CIDR
# NodePorts answer on the node IP only (not on the host's interface, not on 127.0.0.1).
nodePortAddresses: ["$NODE_IP/32"]
iptables:
  localhostNodePorts: false
# 0: leave the kernel's conntrack settings alone.
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF
  install_config "$c/metrics-server.yaml" <<EOF
# metrics-server runs on the host (not as a pod); the aggregator reaches it through this
# selector-less Service and its Endpoints on the node IP.
apiVersion: v1
kind: Service
metadata: {name: metrics-server, namespace: kube-system}
spec:
  ports: [{name: https, port: 443, protocol: TCP, targetPort: $METRICS_SERVER_PORT}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: metrics-server, namespace: kube-system}
subsets:
  - addresses: [{ip: $NODE_IP}]
    ports: [{name: https, port: $METRICS_SERVER_PORT, protocol: TCP}]
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.metrics.k8s.io}
spec:
  group: metrics.k8s.io
  version: v1beta1
  groupPriorityMinimum: 100
  versionPriority: 100
  service: {name: metrics-server, namespace: kube-system, port: 443}
  caBundle: $(base64 -w0 "$PKI/ca.crt")
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:metrics-server"}
rules:
  - apiGroups: [""]
    resources: [nodes/metrics]
    verbs: [get]
  - apiGroups: [""]
    resources: [pods, nodes]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:metrics-server"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:metrics-server"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:metrics-server"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "metrics-server:system:auth-delegator"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:auth-delegator"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:metrics-server"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: "metrics-server-auth-reader", namespace: kube-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: extension-apiserver-authentication-reader}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:metrics-server"}]
EOF
}

# --- components ------------------------------------------------------------------------------

start_etcd() {
  start_component etcd "$ETCD_BIN/etcd" --name "$NODE_NAME" --data-dir "$STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "$NODE_NAME=http://127.0.0.1:$ETCD_PEER_PORT" \
    --log-level warn
  await etcd 60 healthy curl -sf "http://127.0.0.1:$ETCD_PORT/health"
}

start_containerd() {
  start_component containerd "$CONTAINERD_BIN/containerd" --config "$STATE/config/containerd.toml"
  await containerd 60 "answering on $CONTAINERD_SOCK" \
    "$CONTAINERD_BIN/ctr" --address "$CONTAINERD_SOCK" version
}

# The pause image comes from scripts/images (no registry); tests import the others.
import_pause_image() {
  local ctr=("$CONTAINERD_BIN/ctr" --address "$CONTAINERD_SOCK" -n k8s.io)
  if "${ctr[@]}" images ls -q 2>/dev/null | grep -x "$PAUSE_IMAGE" >/dev/null; then
    return 0
  fi
  [ -x "$IMAGES_SCRIPT" ] || die "images: $IMAGES_SCRIPT is missing: cannot provide $PAUSE_IMAGE"
  say "images: import $PAUSE_IMAGE (scripts/images)"
  {
    { [ -f "$IMAGES_DIR/pause.tar" ] || "$IMAGES_SCRIPT" build pause; } &&
      PODMETER_CTR=$CONTAINERD_BIN/ctr "$IMAGES_SCRIPT" import --address "$CONTAINERD_SOCK" pause
  } >>"$LOGS/images.log" 2>&1 || fail_component images "could not build and import $PAUSE_IMAGE"
}

start_apiserver() {
  start_component kube-apiserver "$K8S_BIN/kube-apiserver" \
    --advertise-address="$NODE_IP" --bind-address="$NODE_IP" --secure-port="$APISERVER_PORT" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --client-ca-file="$PKI/ca.crt" \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$PKI/ca.crt" \
    --kubelet-preferred-address-types=InternalIP \
    --service-account-issuer=https://kubernetes.default.svc \
    --service-account-key-file="$PKI/sa.pub" \
    --service-account-signing-key-file="$PKI/sa.key" \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --allow-privileged=true \
    --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
    --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User \
    --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$PKI/front-proxy-client.crt" \
    --proxy-client-key-file="$PKI/front-proxy-client.key" \
    --enable-aggregator-routing=true \
    --profiling=false
  await kube-apiserver 120 ready kc get --raw /readyz
}

start_controller_manager() {
  start_component kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig="$PKI/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$PKI/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$PKI/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false \
    --root-ca-file="$PKI/ca.crt" \
    --service-account-private-key-file="$PKI/sa.key" --use-service-account-credentials=true \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --allocate-node-cidrs=true --cluster-cidr="$POD_CIDR" --node-cidr-mask-size=24 \
    --profiling=false
  await kube-controller-manager 60 healthy curl -sfk https://127.0.0.1:10257/healthz
}

start_scheduler() {
  start_component kube-scheduler "$K8S_BIN/kube-scheduler" \
    --kubeconfig="$PKI/scheduler.kubeconfig" \
    --authentication-kubeconfig="$PKI/scheduler.kubeconfig" \
    --authorization-kubeconfig="$PKI/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false --profiling=false
  await kube-scheduler 60 healthy curl -sfk https://127.0.0.1:10259/healthz
}

start_kubelet() {
  start_component kubelet "$K8S_BIN/kubelet" \
    --config="$STATE/config/kubelet.yaml" \
    --kubeconfig="$PKI/kubelet.kubeconfig" \
    --root-dir="$KUBELET_DIR" --cert-dir="$KUBELET_DIR/pki" \
    --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" \
    --containerd="$CONTAINERD_SOCK" # cAdvisor's containerd (its default is /run/containerd's)
  await kubelet 90 healthy curl -sf http://127.0.0.1:10248/healthz
}

start_kube_proxy() {
  start_component kube-proxy "$K8S_BIN/kube-proxy" --config="$STATE/config/kube-proxy.yaml"
  await kube-proxy 60 healthy curl -sf http://127.0.0.1:10256/healthz
}

start_metrics_server() {
  kc apply -f "$STATE/config/metrics-server.yaml" >>"$LOGS/metrics-server.log" 2>&1 ||
    fail_component metrics-server "kubectl apply of its Service, APIService and RBAC failed"
  start_component metrics-server "$METRICS_SERVER_BIN/metrics-server" \
    --kubeconfig="$PKI/metrics-server.kubeconfig" \
    --authentication-kubeconfig="$PKI/metrics-server.kubeconfig" \
    --authorization-kubeconfig="$PKI/metrics-server.kubeconfig" \
    --bind-address="$NODE_IP" --secure-port="$METRICS_SERVER_PORT" \
    --tls-cert-file="$PKI/metrics-server.crt" --tls-private-key-file="$PKI/metrics-server.key" \
    --kubelet-client-certificate="$PKI/metrics-server.crt" \
    --kubelet-client-key="$PKI/metrics-server.key" \
    --kubelet-certificate-authority="$PKI/ca.crt" \
    --kubelet-preferred-address-types=InternalIP --kubelet-use-node-status-port \
    --metric-resolution=15s
}

cluster_up() {
  need_root
  local start=$SECONDS
  binaries_built || {
    say "binaries: not in $CACHE yet, building them first (~15 min cold)"
    cluster_build
  }
  ensure_debian_packages
  mkdir -p "$STATE" "$RUN" "$LOGS"
  record_host_state
  setup_bridge
  setup_cgroup_root
  make_pki
  write_configs
  start_etcd
  start_containerd
  import_pause_image
  start_apiserver
  start_controller_manager
  start_scheduler
  start_kubelet
  start_kube_proxy
  start_metrics_server
  say "waiting for node $NODE_NAME Ready"
  await kubelet 120 "Ready as node $NODE_NAME" \
    kc wait --for=condition=Ready "node/$NODE_NAME" --timeout=2s
  await kube-controller-manager 60 "creating the default ServiceAccount" \
    kc get serviceaccount default -n default
  say "waiting for metrics-server (kubectl top node)"
  await metrics-server 120 "answering kubectl top node" kc top node
  say "up: node $NODE_NAME Ready, metrics-server answering ($((SECONDS - start)) s)"
  say "kubeconfig: $KUBECONFIG_ADMIN   kubectl: $KUBECTL"
}
