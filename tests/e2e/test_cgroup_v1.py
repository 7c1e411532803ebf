"""podmeter on this machine's real cgroup v1: a 50m-quota container with a busy loop and a process
holding ~64 MiB, checked against the kernel's own files."""
import os
import shutil
import subprocess
import time

import pytest

from kubepods_v1 import KubepodsContainer, v1_mounts
from harness import parse, running_podmeter, scrape, value

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or "memory" not in v1_mounts(), reason="needs root and cgroup v1 (memory)")

HOLD_64MIB = ("import sys, time\n"
              "b = bytearray(64 << 20)\n"
              "for i in range(0, len(b), 4096): b[i] = 1\n"
              "print('ready', flush=True)\n"
              "time.sleep(120)\n")
BUSY = ("import time\nprint('ready', flush=True)\n"
        "end = time.time() + 120\nwhile time.time() < end: pass\n")


def vmrss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def kernel_stat(c, key):
    for line in c.read("memory", "memory.stat").splitlines():
        k, v = line.split()
        if k == key:
            return int(v)
    raise KeyError(key)


def within(got, want, rel):
    return abs(got - want) <= rel * want


def kernel_cpu_seconds(c):
    """cpuacct.usage in seconds, and when it was read."""
    return int(c.read("cpuacct", "cpuacct.usage")) / 1e9, time.monotonic()


def fresh_sample_and_kernel(base, c, timeout=10.0):
    """The first scrape after a new sample was published, and the kernel's counter right after
    it (a scrape every few ms until `podmeter_samples_total` moves)."""
    before = value(parse(scrape(base)), "podmeter_samples_total")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        samples = parse(scrape(base))
        if value(samples, "podmeter_samples_total") != before:
            return samples, kernel_cpu_seconds(c)
        time.sleep(0.005)
    raise AssertionError(f"no new sample within {timeout} s")


# auto: each file read through a descriptor kept open (pread at 0); 0: opened, read and closed
# each sample. The same kernel figures either way.
@pytest.mark.parametrize("kept", ["auto", "0"])
def test_quota_throttling_and_memory_match_the_kernel(kept):
    with KubepodsContainer() as c:
        c.write("cpu", "cpu.cfs_period_us", 100000)
        c.write("cpu", "cpu.cfs_quota_us", 5000)
        holder = c.spawn(["python3", "-c", HOLD_64MIB], stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline().strip() == "ready"
        # Both have started (under the quota python takes a second or so) before podmeter first
        # reads their statm; each is then re-read every 0.5 s (--process-interval).
        busy = c.spawn(["python3", "-c", BUSY], stdout=subprocess.PIPE, text=True)
        assert busy.stdout.readline().strip() == "ready"
        labels = dict(pod=c.pod_uid, container=c.container_id[:12])
        with running_podmeter("--interval", "0.1", "--process-interval", "0.5",
                              "--kept-open-files", kept) as base:
            time.sleep(1.0)
            s1, (k1, t1) = fresh_sample_and_kernel(base, c)
            time.sleep(5.0)
            s2, (k2, t2) = fresh_sample_and_kernel(base, c)
            text = scrape(base)
            kernel_rss = kernel_stat(c, "total_rss")
            kernel_ws = int(c.read("memory", "memory.usage_in_bytes")) - kernel_stat(
                c, "total_inactive_file")
            vmrss = vmrss_bytes(holder.pid) + vmrss_bytes(busy.pid)
            # A process that joins while podmeter runs counts from the next samples: the lists
            # are read afresh (a kept v1 `cgroup.procs` would repeat the processes of its first
            # read), and so is its resident memory.
            late = c.spawn(["sleep", "60"])
            deadline = time.monotonic() + 10
            while str(late.pid) not in c.read("memory", "cgroup.procs").split():
                assert time.monotonic() < deadline, "the late process never joined"
                time.sleep(0.01)
            # It joined as the shell that execs sleep; podmeter may have read the shell's statm
            # first, and re-reads it within --process-interval.
            while open(f"/proc/{late.pid}/comm").read().strip() != "sleep":
                assert time.monotonic() < deadline, "the late process never became sleep"
                time.sleep(0.01)
            time.sleep(0.6)
            s3, _ = fresh_sample_and_kernel(base, c)
            s3, _ = fresh_sample_and_kernel(base, c)  # a whole sample after the join
            late_rss = vmrss_bytes(late.pid)

        cpu = "podmeter_container_cpu_usage_seconds_total"
        # The kernel's own counter over the same window is the truth; the quota only promises an
        # upper bound (on 2 loaded cores the spinner may get less than its 50m). Each kernel read
        # follows a just-published sample by well under 0.1 s, in which a 50m quota allows at most
        # 0.1 s × 0.05 + one 5 ms period of CPU.
        got = value(s2, cpu, **labels) - value(s1, cpu, **labels)
        want = k2 - k1
        assert abs(got - want) <= 2 * (0.1 * 0.05 + 0.005), f"podmeter {got:.4f} s, kernel {want:.4f} s"
        rate = want / (t2 - t1)
        assert 0.01 <= rate <= 0.055, f"kernel: {rate:.4f} cores under a 50m quota"

        thr = "podmeter_container_cpu_cfs_throttled_periods_total"
        assert value(s2, thr, **labels) > value(s1, thr, **labels)
        assert value(s2, "podmeter_container_cpu_limit_cores", **labels) == 0.05

        rss = value(s2, "podmeter_container_memory_rss_bytes", **labels)
        ws = value(s2, "podmeter_container_memory_working_set_bytes", **labels)
        assert rss > 64 << 20
        assert within(rss, kernel_rss, 0.05), (rss, kernel_rss)
        assert within(ws, kernel_ws, 0.05), (ws, kernel_ws)
        resident = value(s2, "podmeter_container_process_resident_bytes", **labels)
        assert within(resident, vmrss, 0.05), (resident, vmrss)
        assert value(s2, "podmeter_container_processes", **labels) == 2
        assert value(s3, "podmeter_container_processes", **labels) == 3
        assert value(s3, "podmeter_container_threads", **labels) >= 3
        grown = value(s3, "podmeter_container_process_resident_bytes", **labels) - resident
        assert within(grown, late_rss, 0.5), (grown, late_rss)
        # auto: at least the container's own 9 per-sample files and its 2 processes' statm.
        kept_open = value(s2, "podmeter_kept_open_files")
        assert kept_open == 0 if kept == "0" else kept_open >= 11, kept_open

        # The pod cgroup carries the kernel's own pod totals.
        pod_rss = value(s2, "podmeter_pod_memory_rss_bytes", pod=c.pod_uid)
        assert within(pod_rss, kernel_rss, 0.05)

        promtool = shutil.which("promtool")
        assert promtool, "promtool missing: scripts/setup installs Debian's prometheus package"
        res = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                             text=True)
        assert res.stdout + res.stderr == "" and res.returncode == 0, res.stdout + res.stderr

    assert not os.path.exists(c.dirs["memory"]), "test cgroup left behind"


def test_cleanup_happens_on_failure():
    with pytest.raises(RuntimeError):
        with KubepodsContainer() as c:
            c.spawn(["sleep", "60"])
            raise RuntimeError("boom")
    for d in c.dirs.values():
        assert not os.path.exists(d)
        assert not os.path.exists(os.path.dirname(d))  # the pod cgroup too
