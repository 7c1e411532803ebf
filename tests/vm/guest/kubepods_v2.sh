#!/bin/sh
# /init of the cgroup v2 VM test (busybox sh). Builds kubelet-shaped trees for both drivers, runs
# workloads with known behaviour, runs podmeter and prints, between `@@begin <name>` and
# `@@end <name>`, podmeter's /metrics and the kernel's own files read at the same moment (the
# kubepods trees frozen through cgroup.freeze, podmeter having sampled since), and the cgroups
# of a pod the lab's own code laid out (podmeter-lab pod). The host side
# (tests/vm/test_kubepods_v2.py) compares them. Last line: `@@done ok` or `@@done fail`.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
dmesg -n 1
ip link set lo up

CG=/sys/fs/cgroup
PORT=10101
INTERVAL=0.2
PROCESS_INTERVAL=1 PROCESS_SAMPLES=5  # --process-interval, in samples of INTERVAL
CONTROLLERS="+cpuset +cpu +io +memory +pids +hugetlb"

finish() {
  echo "@@done $1"
  sync
  poweroff -f
  sleep 10
}
fail() {
  echo "FAIL: $*"
  [ -f /tmp/podmeter.log ] && tail -n 30 /tmp/podmeter.log
  finish fail
}

# block <name> <file>: the file's text between markers.
block() {
  echo "@@begin $1"
  cat "$2" 2>&1
  echo "@@end $1"
}
# text <name> <words...>
text() {
  echo "@@begin $1"
  echo "$2"
  echo "@@end $1"
}

# mkcg <relative path> [subtree]: creates a cgroup; with "subtree", enables the controllers for its
# children (the kubelet does this on kubepods, the QoS level and the pod).
mkcg() {
  mkdir -p "$CG/$1" || fail "mkdir $1"
  if [ "$2" = subtree ]; then
    echo "$CONTROLLERS" > "$CG/$1/cgroup.subtree_control" || fail "subtree_control $1"
  fi
}

# run_in <relative path> <program> [args...] &: runs the program inside the cgroup.
run_in() {
  d="$CG/$1"
  shift
  sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$d" "$@"
}

# wait_for <seconds> <shell condition>
wait_for() {
  n=$(( $1 * 10 ))
  while ! eval "$2"; do
    n=$(( n - 1 ))
    [ $n -gt 0 ] || return 1
    sleep 0.1
  done
}

SAMPLES=0
samples_total() {
  wget -q -O - "http://127.0.0.1:$PORT/metrics" 2>/dev/null |
    sed -n 's/^podmeter_samples_total \([0-9]*\).*/\1/p'
}
# wait_samples <n>: until podmeter has completed n more samples.
wait_samples() {
  want=$(( $(samples_total) + $1 ))
  wait_for 30 '[ "$(samples_total)" -ge $want ]' || fail "podmeter took no new sample"
}

FILES="cgroup.procs cgroup.threads cgroup.events cpu.stat cpu.max cpu.weight memory.current
  memory.stat memory.max memory.high memory.events memory.events.local memory.oom.group
  pids.current pids.max cpu.pressure memory.pressure io.pressure"
# Every cpu.stat and memory.stat of both trees, as one text.
stats() {
  cat $(find "$CG/kubepods.slice" "$CG/kubepods" -name cpu.stat -o -name memory.stat) 2>/dev/null
}
# frozen_still: those unchanged over 2.5 s. Frozen, a group with a CPU quota still counts
# nr_periods for a period or two (100 ms each), until its bandwidth timer finds it idle; and
# memory.stat lags what was charged before the freeze until the kernel's periodic flush of the
# per-CPU counters (every 2 s on 6.1; a read flushes only past a threshold): seen as anon 1.2 MiB
# short in podmeter's sample of the squeeze, read before that flush.
frozen_still() { before=$(stats); sleep 2.5; [ "$before" = "$(stats)" ]; }
# snapshot <tag>: freezes both kubepods trees, waits until they are still, lets podmeter take
# PROCESS_SAMPLES + 1 samples of the frozen state (each process's statm is re-read once every
# PROCESS_SAMPLES), prints its /metrics and every pod and container cgroup's files, then thaws.
snapshot() {
  for root in kubepods.slice kubepods; do echo 1 > "$CG/$root/cgroup.freeze"; done
  for root in kubepods.slice kubepods; do
    wait_for 30 "grep -q 'frozen 1' $CG/$root/cgroup.events" || fail "$root did not freeze"
  done
  tries=0
  until frozen_still; do
    tries=$((tries + 1))
    [ $tries -lt 20 ] || fail "cpu.stat or memory.stat kept changing in the frozen trees"
  done
  echo "snapshot $1: still after $tries retries"
  wait_samples $((PROCESS_SAMPLES + 1))
  echo "@@begin $1:metrics"
  wget -q -O - "http://127.0.0.1:$PORT/metrics"
  echo "@@end $1:metrics"
  for dir in $(find "$CG/kubepods.slice" "$CG/kubepods" -mindepth 1 -type d); do
    rel=${dir#$CG/}
    for f in $FILES; do
      [ -f "$dir/$f" ] && block "$1:$rel/$f" "$dir/$f"
    done
    for pid in $(cat "$dir/cgroup.procs"); do block "$1:proc/$pid/statm" "/proc/$pid/statm"; done
  done
  for root in kubepods.slice kubepods; do echo 0 > "$CG/$root/cgroup.freeze"; done
}

echo "kernel $(uname -r)"
text kernel "$(uname -r)"
block controllers "$CG/cgroup.controllers"

# The lab's v2 path: `podmeter-lab pod` lays out one pod of k8s/base's rust-api Deployment as
# `podmeter-lab run` does (lab/cgroups.cc: kubepods/burstable/pod<uid>/<id>, cpu.weight, cpu.max,
# memory.max, pids.max, memory.oom.group on the container) and runs a 24 MiB holder with 2 extra
# threads as its container, writing the PodList podmeter reads. It runs first, on an untouched
# hierarchy, so that every controller enabled from the root down to the pod is its doing.
mkdir -p /tmp/lab
/opt/podmeter/podmeter-lab --repo / pod --deployment /opt/podmeter/rust-api-deployment.yaml \
  --pods-file /tmp/lab/pods.json --logs /tmp/lab --seconds 600 -- /opt/podmeter/hold_memory 24 2 \
  > /tmp/lab/pod.out 2> /tmp/lab/pod.err &
LAB=$!
wait_for 60 'grep -q ^pid= /tmp/lab/pod.out' || { cat /tmp/lab/pod.err; fail "podmeter-lab pod"; }
eval "$(sed -n 's/^\([a-z_]*\)=/LAB_\1=/p' /tmp/lab/pod.out)"
wait_for 60 'grep -q ready /tmp/lab/${LAB_pod}_${LAB_container}.log' || fail "lab pod's holder"
block labpod /tmp/lab/pod.out
for rel in . kubepods kubepods/burstable $LAB_pod_cgroup; do
  for f in cgroup.controllers cgroup.subtree_control; do block "labpod:$rel/$f" "$CG/$rel/$f"; done
done

echo "$CONTROLLERS" > "$CG/cgroup.subtree_control" || fail "root subtree_control"

# Pod and container names as the kubelet makes them.
UID_CPU=0c0ffee1-0000-4000-8000-000000000001
UID_MEM=0c0ffee2-0000-4000-8000-000000000002
UID_OOM=0c0ffee3-0000-4000-8000-000000000003
UID_WEB=0c0ffee4-0000-4000-8000-000000000004
ID_CPU=c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1
ID_MEM=c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2
ID_OOM=c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3
ID_WEB=c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4
us() { echo "$1" | tr - _; }

# systemd driver: a containerd pod (busy loop under cpu.max 5000 100000) and a CRI-O pod (96 MiB
# of anonymous memory, 1 process with 4 threads; CRI-O's conmon scope beside it).
BURST=kubepods.slice/kubepods-burstable.slice
POD_CPU=$BURST/kubepods-burstable-pod$(us $UID_CPU).slice
POD_MEM=$BURST/kubepods-burstable-pod$(us $UID_MEM).slice
C_CPU=$POD_CPU/cri-containerd-$ID_CPU.scope
C_MEM=$POD_MEM/crio-$ID_MEM.scope
mkcg kubepods.slice subtree
mkcg $BURST subtree
mkcg $POD_CPU subtree
mkcg $POD_MEM subtree
mkcg $C_CPU
mkcg $C_MEM
mkcg $POD_MEM/crio-conmon-$ID_MEM.scope
echo "5000 100000" > "$CG/$C_CPU/cpu.max" || fail "cpu.max"
run_in $C_CPU sh -c 'while :; do :; done' &
run_in $C_MEM /opt/podmeter/hold_memory 96 3 > /tmp/hold.out &
wait_for 60 'grep -q ready /tmp/hold.out' || fail "hold_memory did not start"

# cgroupfs driver: a Burstable pod whose container gets memory.oom.group=1 and 5 processes
# (later pushed over memory.max), and a Guaranteed pod whose container is created after podmeter
# started and serves after 300 ms.
POD_OOM=kubepods/burstable/pod$UID_OOM
POD_WEB=kubepods/pod$UID_WEB
C_OOM=$POD_OOM/$ID_OOM
C_WEB=$POD_WEB/$ID_WEB
mkcg kubepods subtree
mkcg kubepods/burstable subtree
mkcg $POD_OOM subtree
mkcg $POD_WEB subtree
mkcg $C_OOM
echo 48M > "$CG/$C_OOM/memory.max" || fail "memory.max"
echo 1 > "$CG/$C_OOM/memory.oom.group" || fail "memory.oom.group"
for i in 1 2 3 4; do run_in $C_OOM sleep 1000 & done
mkfifo /tmp/oom.go
run_in $C_OOM sh -c 'read go < /tmp/oom.go && exec /opt/podmeter/hold_memory 64' &
wait_for 30 '[ $(wc -l < $CG/$C_OOM/cgroup.procs) -eq 5 ]' || fail "OOM container: 5 processes"

/opt/podmeter/podmeter --listen 127.0.0.1:$PORT --interval $INTERVAL \
  --process-interval $PROCESS_INTERVAL --pods-file /tmp/lab/pods.json --no-relay \
  > /tmp/podmeter.log 2>&1 &
PODMETER=$!
wait_for 60 'wget -q -O /dev/null http://127.0.0.1:$PORT/healthz' || fail "podmeter not healthy"
wait_samples 2

# Start-up: the container cgroup appears after podmeter started, its server binds after 300 ms.
mkcg $C_WEB
echo 64 > "$CG/$C_WEB/pids.max" || fail "pids.max"
/opt/podmeter/launch_in_cgroup "$CG/$C_WEB/cgroup.procs" -- /opt/podmeter/listen_after 300 7070 \
  > /tmp/web.out &
wait_for 30 'grep -q listen_ns /tmp/web.out' || fail "listen_after did not listen"
block web /tmp/web.out

# Two moments 10 s apart.
snapshot t0
sleep 10
snapshot t1

# A squeeze: three busy loops without a limit on 2 CPUs (cpu pressure); memory.high below what
# the 96 MiB holder's container uses, and a second holder allocating there (memory pressure).
echo max > "$CG/$C_CPU/cpu.max"
SQUEEZE=""
for i in 1 2; do
  run_in $C_CPU sh -c 'while :; do :; done' &
  SQUEEZE="$SQUEEZE $!"
done
echo 64M > "$CG/$C_MEM/memory.high"
run_in $C_MEM /opt/podmeter/hold_memory 16 > /dev/null &
SQUEEZE="$SQUEEZE $!"
sleep 3
snapshot squeeze
kill $SQUEEZE
echo max > "$CG/$C_MEM/memory.high"
echo "5000 100000" > "$CG/$C_CPU/cpu.max"

# OOM: the fifth process allocates 64 MiB in the 48 MiB container; the group kill takes all 5.
echo go > /tmp/oom.go
wait_for 60 '[ -z "$(cat $CG/$C_OOM/cgroup.procs)" ]' || fail "the OOM group kill left processes"
snapshot oom
rmdir "$CG/$C_OOM" || fail "rmdir OOM container"
wait_samples 3
echo "@@begin after_rmdir:metrics"
wget -q -O - "http://127.0.0.1:$PORT/metrics"
echo "@@end after_rmdir:metrics"
block after_rmdir:$POD_OOM/memory.events "$CG/$POD_OOM/memory.events"

# The lab's container over its memory.max (lowered under the holder's 24 MiB): one OOM of a
# one-process container with memory.oom.group=1 (the lab's doing). The lab reaps it (OOMKilled in
# its PodList), removes its cgroup and restarts it at once into a new container cgroup.
echo 8M > "$CG/$LAB_container_cgroup/memory.max" || fail "lab container memory.max"
wait_for 30 "[ ! -d $CG/$LAB_container_cgroup ]" || fail "the lab did not reap its OOM-killed container"
wait_for 60 "[ \$(grep -c ready /tmp/lab/${LAB_pod}_${LAB_container}.log) -ge 2 ]" ||
  fail "the lab did not restart its container"
wait_samples 3
echo "@@begin lab_oom:metrics"
wget -q -O - "http://127.0.0.1:$PORT/metrics"
echo "@@end lab_oom:metrics"
block "lab_oom:$LAB_pod_cgroup/memory.events" "$CG/$LAB_pod_cgroup/memory.events"

# The lab stops: its pod's processes killed and its cgroups removed (kubepods too, which it
# created, with what the cgroupfs pods above left in it).
kill $LAB
wait $LAB
LAB_EXIT=$?
left=""
for rel in $LAB_container_cgroup $LAB_pod_cgroup kubepods; do [ -d "$CG/$rel" ] && left="$left $rel"; done
text lab_stop "exit=$LAB_EXIT left=$left"
block lab_stop_out /tmp/lab/pod.out

kill $PODMETER
wait $PODMETER
block podmeter_log /tmp/podmeter.log

# An OOM kill in a container's first second: a second podmeter samples every 5 s; each container
# allocates over its limit at once and its cgroup is removed 0.2 s after it died, between two
# samples. Pod FA's container has no memory.oom.group (one process per OOM: the kubelet's
# singleProcessOOMKill), FB's has it (the kubelet's default since 1.28).
UID_FA=0c0ffee5-0000-4000-8000-000000000005
UID_FB=0c0ffee6-0000-4000-8000-000000000006
# The lab removed kubepods/ at its stop (it created it): the levels again, controllers enabled.
mkcg kubepods subtree
mkcg kubepods/burstable subtree
mkcg kubepods/burstable/pod$UID_FA subtree
mkcg kubepods/burstable/pod$UID_FB subtree
/opt/podmeter/podmeter --listen 127.0.0.1:$PORT --interval 5 > /tmp/podmeter2.log 2>&1 &
PODMETER=$!
wait_for 60 'wget -q -O /dev/null http://127.0.0.1:$PORT/healthz' || fail "podmeter 2 not healthy"
wait_samples 1
fast_oom() {  # fast_oom <tag> <pod uid> <container id> <memory.oom.group>
  c=kubepods/burstable/pod$2/$3
  mkcg $c
  echo 48M > "$CG/$c/memory.max" || fail "memory.max $1"
  echo $4 > "$CG/$c/memory.oom.group" || fail "memory.oom.group $1"
  run_in $c /opt/podmeter/hold_memory 64 > /dev/null 2>&1
  wait_for 30 '[ -z "$(cat $CG/$c/cgroup.procs)" ]' || fail "fast OOM $1 left processes"
  sleep 0.2
  rmdir "$CG/$c" || fail "rmdir fast OOM $1"
  block fast_oom:$1/memory.events "$CG/kubepods/burstable/pod$2/memory.events"
}
fast_oom FA $UID_FA c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7c7 0
fast_oom FB $UID_FB c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8 1
wait_samples 2
echo "@@begin fast_oom:metrics"
wget -q -O - "http://127.0.0.1:$PORT/metrics"
echo "@@end fast_oom:metrics"
kill $PODMETER
block podmeter2_log /tmp/podmeter2.log
finish ok
