# shellcheck shell=bash
# `scripts/cluster status`: each component's process and health check, then the node.
# Exits non-zero unless everything is up and the node is Ready.

# `_health NAME`: the component's own health check.
_health() {
  case $1 in
    etcd) curl -sf "http://127.0.0.1:$ETCD_PORT/health" ;;
    containerd) "$CONTAINERD_BIN/ctr" --address "$CONTAINERD_SOCK" version ;;
    kube-apiserver) kc get --raw /readyz ;;
    kube-controller-manager) curl -sfk https://127.0.0.1:10257/healthz ;;
    kube-scheduler) curl -sfk https://127.0.0.1:10259/healthz ;;
    kubelet) curl -sf http://127.0.0.1:10248/healthz ;;
    kube-proxy) curl -sf http://127.0.0.1:10256/healthz ;;
    metrics-server) kc get --raw /apis/metrics.k8s.io/v1beta1/nodes ;;
  esac
}

cluster_status() {
  local name pid ok=0 state
  for name in etcd containerd kube-apiserver kube-controller-manager kube-scheduler kubelet \
    kube-proxy metrics-server; do
    if ! pid=$(pid_of "$name"); then
      state="not running"
      ok=1
    elif _health "$name" >/dev/null 2>&1; then
      state="healthy (pid $pid)"
    else
      state="UNHEALTHY (pid $pid, log $LOGS/$name.log)"
      ok=1
    fi
    printf '%-24s %s\n' "$name" "$state"
  done
  if [ $ok = 0 ] && kc get node "$NODE_NAME" \
    -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -x True >/dev/null; then
    printf '%-24s %s\n' "node $NODE_NAME" "Ready ($NODE_IP, pods $POD_CIDR, services $SERVICE_CIDR)"
    printf '%-24s %s\n' kubeconfig "$KUBECONFIG_ADMIN"
    return 0
  fi
  printf '%-24s %s\n' "node $NODE_NAME" "not Ready"
  return 1
}
