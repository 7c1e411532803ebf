# shellcheck shell=bash
# `scripts/cluster down`: stops every component and undoes what `up` and the node did to the
# host: pod processes, containerd's shims, mounts, network namespaces, veths, the bridge,
# iptables chains, cgroups, sysctls and host paths. The cluster's state (etcd, containerd's
# images, the kubelet's directory) is discarded; the PKI and the logs stay. Safe to repeat.

COMPONENTS=(metrics-server kube-proxy kubelet kube-scheduler kube-controller-manager
  kube-apiserver containerd etcd)

# True while PID runs (a zombie waiting for PID 1 to reap it has stopped).
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# `stop_component NAME`: SIGTERM, then SIGKILL after 10 s.
stop_component() {
  local name=$1 pid i
  if pid=$(pid_of "$name"); then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
    say "$name: stopped (pid $pid)"
  fi
  rm -f "$RUN/$name.pid" "$RUN/$name.exe"
}

# Every hierarchy's copy of our cgroup root (v1 hierarchies and the hybrid unified one).
_cgroup_roots() {
  local h
  for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
    h=${h%/}
    if [ -d "$h$CGROUP_ROOT" ]; then echo "$h$CGROUP_ROOT"; fi
  done
}

# Kills every process in our cgroup tree (the pods' containers and sandboxes).
kill_pod_processes() {
  local round root pids
  for round in $(seq 1 20); do
    # (cgroups vanish while find walks them: its status means nothing here)
    pids=$(for root in $(_cgroup_roots); do
      find "$root" -name cgroup.procs -exec cat {} + 2>/dev/null || true
    done | sort -u)
    [ -z "$pids" ] && return 0
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 0.25
  done
  say "warning: pod processes still alive: $pids"
}

# Deletes containerd's tasks (the pods' processes are gone by now), so that each shim exits and
# removes its socket in /run/containerd/s.
delete_tasks() {
  local ctr=("$CONTAINERD_BIN/ctr" --address "$CONTAINERD_SOCK" -n k8s.io) id
  pid_of containerd >/dev/null || return 0
  for id in $("${ctr[@]}" tasks ls -q 2>/dev/null); do
    "${ctr[@]}" tasks delete -f "$id" >/dev/null 2>&1 || true
  done
}

# containerd's shims: they leave containerd's process tree and outlive it.
kill_shims() {
  local pid exe shim
  shim=$(readlink -f "$CONTAINERD_BIN/containerd-shim-runc-v2") || return 0
  for pid in /proc/[0-9]*; do
    exe=$(readlink "$pid/exe" 2>/dev/null) || continue
    [ "$exe" = "$shim" ] && kill -KILL "${pid#/proc/}" 2>/dev/null
  done
  return 0
}

# Unmounts everything under our directories and the kubelet's, deepest first.
unmount_ours() {
  local round mnts
  for round in 1 2 3 4 5; do
    mnts=$(awk -v s="$STATE" -v r="$RUN" '{ p = $5; if (index(p, s) == 1 || index(p, r) == 1 || index(p, "/var/lib/kubelet") == 1) print p }' /proc/self/mountinfo | sort -r)
    [ -z "$mnts" ] && return 0
    while read -r m; do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done <<<"$mnts"
  done
}

remove_network() {
  ip link show "$BRIDGE" >/dev/null 2>&1 || return 0
  local link
  for link in $(ip -o link show master "$BRIDGE" | awk -F': ' '{ print $2 }' | cut -d@ -f1); do
    ip link del "$link" 2>/dev/null || true
  done
  ip link del "$BRIDGE" && say "network: bridge $BRIDGE removed"
}

# Removes the chains of the kubelet, kube-proxy and the CNI plugins (KUBE-*, CNI-*) from every
# table of iptables and ip6tables, with the rules of other chains that jump to them.
remove_iptables_chains() {
  local ipt table rules line chains chain
  if [ -x "$K8S_BIN/kube-proxy" ]; then
    "$K8S_BIN/kube-proxy" --cleanup >>"$LOGS/kube-proxy.log" 2>&1 || true
  fi
  for ipt in iptables ip6tables; do
    command -v "$ipt" >/dev/null || continue
    for table in filter nat mangle raw; do
      rules=$("$ipt-save" -t "$table" 2>/dev/null | grep -E -- '-j (KUBE-|CNI-)' |
        grep -E '^-A ' | grep -vE '^-A (KUBE-|CNI-)' || true)
      while IFS= read -r line; do
        [ -n "$line" ] || continue
        eval "$ipt -w -t $table -D ${line#-A }" 2>/dev/null || true
      done <<<"$rules"
      chains=$("$ipt-save" -t "$table" 2>/dev/null | awk '/^:(KUBE-|CNI-)/ { print substr($1, 2) }')
      for chain in $chains; do
        "$ipt" -w -t "$table" -F "$chain" 2>/dev/null || true
      done
      for chain in $chains; do
        "$ipt" -w -t "$table" -X "$chain" 2>/dev/null || true
      done
    done
  done
}

remove_cgroups() {
  local root
  for root in $(_cgroup_roots); do
    find "$root" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [ -d "$root" ] && say "warning: cgroup $root could not be removed"
  done
  return 0
}

restore_host_state() {
  local dir=$STATE/host line p
  if [ -f "$dir/sysctls" ]; then
    while IFS= read -r line; do
      p=/proc/sys/$(echo "${line%%=*}" | tr . /)
      if [ -f "$p" ] && [ "$(cat "$p")" != "${line#*=}" ]; then
        echo "${line#*=}" >"$p" || say "warning: could not restore ${line%%=*}"
      fi
    done <"$dir/sysctls"
  fi
  if [ -f "$dir/created-paths" ]; then
    # These paths may be shared (another containerd, `ip netns`): only what is ours goes (the
    # kubelet's device-plugin socket, the log links into $STATE, the CNI cache of our network
    # "podmeter" and of the loopback), then the directories left empty.
    while IFS= read -r p; do
      [ -e "$p" ] || continue
      rm -f /var/lib/kubelet/device-plugins/kubelet.sock
      find "$p" -depth \( -name "podmeter-*" -o -name "cni-loopback-*" -o -lname "$STATE/*" \) -delete 2>/dev/null || true
      find "$p" -depth -type d -empty -delete 2>/dev/null || true
      if [ -e "$p" ]; then
        say "warning: left $p: it holds what is not ours: $(find "$p" | head -3 | tr '\n' ' ')"
      fi
    done <"$dir/created-paths"
  fi
  rm -rf "$dir"
}

cluster_down() {
  need_root
  local start=$SECONDS name
  for name in "${COMPONENTS[@]}"; do
    if [ "$name" = containerd ]; then
      kill_pod_processes
      delete_tasks
    fi
    stop_component "$name"
  done
  kill_pod_processes
  kill_shims
  unmount_ours
  remove_network
  remove_iptables_chains
  remove_cgroups
  restore_host_state
  rm -rf "$STATE/etcd" "$STATE/containerd" "$STATE/containerd-opt" "$STATE/cni" \
    "$KUBELET_DIR" "$STATE/pod-logs" "$STATE/volume-plugins" "$RUN"
  say "down: done ($((SECONDS - start)) s)"
}
