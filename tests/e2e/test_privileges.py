"""Least privilege (issue 15), on real cgroup v1: podmeter run with exactly the capabilities of
k8s/base/podmeter-daemonSet.yaml (uid 0, every other capability dropped, no_new_privs, as the
container runtime starts it), then with each of them dropped, then as a non-root user holding all
three (as ambient capabilities, more than Kubernetes can give a non-root container). Each run
starts podmeter first, then a pod whose three containers are made after it: a root server and a
server running as nobody (65534), both listening at once, and a process OOM-killed in a 32 MiB
limit. What each run serves is checked against what the test did:

  run                     start-up of root | of nobody | exec clock   | OOM kill counted
  manifest (3 caps)       yes              | yes       | exec event   | 1
  without SYS_PTRACE      no               | no        | (exec event) | 1
  without DAC_READ_SEARCH yes              | no        | exec event   | 1
  without NET_ADMIN       yes              | yes       | fork (/proc) | 1
  non-root, 3 ambient     yes              | yes       | exec event   | 1 (no eventfd: poll)

The OOM victim's container is removed 0.2 s after the kill, between two samples (as the runtime
removes a killed container): the eventfd registered through cgroup.event_control counts it, or,
where it cannot be registered (non-root), the watcher's 50 ms reads of memory.oom_control; the
per-sample read would not (podmeter_oom_kills_counted_total says which path counted it).

The manifest's comments give the same reasons. setpriv (util-linux) sets the capability sets."""
import os
import subprocess
import time

import pytest

from harness import ALLOCATE, ROOT, free_port, http_get, parse, podmeter_bin, stop_process
from kubepods_v1 import KubepodsPod, v1_mounts

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or "memory" not in v1_mounts(), reason="needs root and cgroup v1 (memory)")

TOOLS = os.path.join(ROOT, "build", "tests")
MANIFEST_CAPS = ("sys_ptrace", "dac_read_search", "net_admin")
NOBODY = 65534
NONROOT = 65532  # distroless' nonroot
CONNECTOR_WARNING = "no kernel process connector"
INTERVAL = 5  # s: the OOM kill and the container's removal both fall between two samples


def setpriv(caps, uid=0):
    """The setpriv prefix that gives the next program exactly `caps`: as uid 0 through the
    bounding set (what containerd does for a root container: bounding = permitted = effective),
    as another uid through the ambient set. no_new_privs as allowPrivilegeEscalation: false."""
    want = ",".join(["-all"] + [f"+{c}" for c in caps])
    argv = ["setpriv", "--no-new-privs", "--inh-caps", want if uid else "-all",
            "--bounding-set", want]
    if uid:
        argv += ["--reuid", str(uid), "--regid", str(uid), "--clear-groups",
                 "--ambient-caps", want]
    return argv


def cap_eff(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1], 16) for line in f if line.startswith("CapEff:"))


CAP_BITS = {"net_admin": 12, "sys_ptrace": 19, "dac_read_search": 2}


def serve_pod(caps, uid=0):
    """Runs podmeter with `caps` as `uid`, makes the pod, and returns what podmeter served:
    {"startup_root", "startup_nobody", "connector", "oom_kills", "oom_watch_errors", "rss"}."""
    port = free_port()
    log_path = f"/tmp/podmeter-privileges-{os.getpid()}-{port}.log"
    log = open(log_path, "w")
    proc = subprocess.Popen([*setpriv(caps, uid), podmeter_bin(), "--listen",
                             f"127.0.0.1:{port}", "--interval", str(INTERVAL)],
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait(lambda: proc.poll() is None and http_get(base + "/healthz", 1)[0] == 200, 15,
             "podmeter healthy", proc)
        assert cap_eff(proc.pid) == sum(1 << CAP_BITS[c] for c in caps), "setpriv"
        assert os.stat(f"/proc/{proc.pid}").st_uid == uid
        with KubepodsPod() as pod:
            return run_pod(pod, base, proc) | {"log": open(log_path).read()}
    finally:
        stop_process(proc)
        log.close()
        os.unlink(log_path)


def wait(cond, timeout, what, proc=None):
    deadline = time.monotonic() + timeout
    while True:
        try:
            if cond():
                return
        except OSError:
            pass
        assert proc is None or proc.poll() is None, f"podmeter exited with {proc.returncode}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def samples_of(base):
    status, body, _ = http_get(base + "/metrics")
    assert status == 200
    return parse(body.decode())


def find(samples, name, **labels):
    want = set(labels.items())
    return [v for (n, l), v in samples.items() if n == name and want <= set(l)]


def run_pod(pod, base, proc):
    root_c, nobody_c, oom_c = pod.container(), pod.container(), pod.container()
    listen = os.path.join(TOOLS, "listen_after")
    launch = os.path.join(TOOLS, "launch_in_cgroup")
    # The root server's first process sleeps 1 s before it execs the server: start-up measured
    # from the exec event (the process connector) is a few ms, from the /proc start time (the
    # fork) at least 1 s.
    root_c.spawn_raw([launch, *root_c.procs_files(), "--", "sh", "-c",
                      f'sleep 1; exec "$0" 0 {free_port()}', listen], stdout=subprocess.DEVNULL)
    nobody_c.spawn_raw([launch, *nobody_c.procs_files(), "--", "setpriv", "--reuid",
                        str(NOBODY), "--regid", str(NOBODY), "--clear-groups", "--inh-caps=-all",
                        listen, "0", str(free_port())], stdout=subprocess.DEVNULL)
    oom_c.write("memory", "memory.limit_in_bytes", 32 << 20)
    victim = oom_c.spawn(["python3", "-c", ALLOCATE], stdin=subprocess.PIPE, text=True)
    # Both servers listen at once; podmeter measures within its start-up timeout or never.
    wait(lambda: all(find(samples_of(base), "podmeter_container_memory_usage_bytes",
                          container=c.id[:12]) for c in (root_c, nobody_c, oom_c)),
         3 * INTERVAL, "the three containers", proc)
    before = samples_of(base)
    # Right after a sample: the kill, and the container's removal 0.2 s later (as the runtime
    # does), come long before the next one, so only the OOM eventfd can see them.
    ticks = find(before, "podmeter_samples_total")
    wait(lambda: find(samples_of(base), "podmeter_samples_total") != ticks, 2 * INTERVAL,
         "a sample", proc)
    victim.stdin.write("go\n")
    victim.stdin.flush()
    assert victim.wait(timeout=30) == -9, "the allocation was not OOM-killed"
    time.sleep(0.2)
    oom_c.remove()
    time.sleep(INTERVAL + 1)  # the next sample, with or without the kill
    s = samples_of(base)
    return {
        "startup_root": find(s, "podmeter_container_startup_seconds", container=root_c.id[:12]),
        "startup_root_exec": find(s, "podmeter_container_startup_seconds",
                                  container=root_c.id[:12], clock="exec"),
        "startup_nobody": bool(find(s, "podmeter_container_startup_seconds",
                                    container=nobody_c.id[:12])),
        "oom_before": find(before, "podmeter_pod_oom_kills_total", pod=pod.uid),
        "oom_kills": find(s, "podmeter_pod_oom_kills_total", pod=pod.uid),
        "oom_watch_errors": find(s, "podmeter_sample_errors_total", collector="oom_watch"),
        "by_eventfd": find(s, "podmeter_oom_kills_counted_total", source="eventfd"),
        "by_poll": find(s, "podmeter_oom_kills_counted_total", source="poll"),
        "rss": all(find(s, "podmeter_container_process_resident_bytes", container=c.id[:12])
                   for c in (root_c, nobody_c)),
    }


RUNS = {
    "manifest": (MANIFEST_CAPS, 0),
    "without SYS_PTRACE": (("dac_read_search", "net_admin"), 0),
    "without DAC_READ_SEARCH": (("sys_ptrace", "net_admin"), 0),
    "without NET_ADMIN": (("sys_ptrace", "dac_read_search"), 0),
    "non-root, 3 ambient": (MANIFEST_CAPS, NONROOT),
}
# run: (start-up of the root server, of nobody's, exact exec clock, OOM kills counted)
EXPECTED = {
    "manifest": (True, True, True, 1),
    "without SYS_PTRACE": (False, False, True, 1),
    "without DAC_READ_SEARCH": (True, False, True, 1),
    "without NET_ADMIN": (True, True, False, 1),
    "non-root, 3 ambient": (True, True, True, 1),
}


@pytest.fixture(scope="module")
def readable_build():
    """The non-root run needs to reach the binary; the worktree may sit under a private dir."""
    path = podmeter_bin()
    while path != "/":
        path = os.path.dirname(path)
        if not os.stat(path).st_mode & 0o001:
            pytest.skip(f"{path} is not searchable by others: the non-root run cannot exec podmeter")


@pytest.mark.parametrize("run", list(RUNS))
def test_capabilities(run, readable_build, capsys):
    caps, uid = RUNS[run]
    got = serve_pod(caps, uid)
    startup_root, startup_nobody, connector, kills = EXPECTED[run]
    with capsys.disabled():
        print(f"\n  {run}: caps={','.join(caps)} uid={uid}: start-up root={got['startup_root']} "
              f"nobody={got['startup_nobody']} connector={CONNECTOR_WARNING not in got['log']} "
              f"oom_kills={got['oom_kills']} oom_watch_errors={got['oom_watch_errors']}")
    assert got["rss"], "process_resident_bytes needs no capability"
    assert bool(got["startup_root"]) == startup_root, got
    assert got["startup_nobody"] == startup_nobody, got
    assert (CONNECTOR_WARNING not in got["log"]) == connector, got["log"]
    if startup_root:
        # The entrypoint is the shell that sleeps 1 s before it execs the server: counted on
        # either clock; the clock label says which one measured it (the exec event with the
        # connector, the fork time without).
        assert bool(got["startup_root_exec"]) == connector, got
        assert got["startup_root"][0] >= 1.0, got
    assert got["oom_before"] == [0], got
    assert got["oom_kills"] == [kills], got
    if uid == 0:
        assert got["oom_watch_errors"] == [0] and got["by_eventfd"] == [1], got
    else:
        # cgroup.event_control is root's, mode 0200: no eventfd (a non-root podmeter would need
        # CAP_DAC_OVERRIDE, which opens every file for writing); the watcher's 50 ms reads of the
        # container's memory.oom_control count the kill before its cgroup is removed.
        assert got["oom_watch_errors"][0] > 0 and got["by_poll"] == [1], got
