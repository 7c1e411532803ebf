"""A container of 1,000 processes in a real cgroup v1 keeps all its series (libproc2 selects at most
255 pids per call; the container used to vanish from /metrics), with the kernel's counts and the
processes' own resident memory as the truth."""
import os
import subprocess
import time

import pytest

from kubepods_v1 import KubepodsPod, v1_mounts
from harness import parse, running_podmeter, scrape, value

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or "memory" not in v1_mounts(), reason="needs root and cgroup v1 (memory)")

PROCESSES = 1000
# One shell that forks PROCESSES sleeps and waits for them (all in its process group, killed
# together by Container.kill).
FORK_SLEEPS = f'for i in $(seq {PROCESSES}); do sleep 600 & done; echo ready; wait'


def procs(c):
    return [int(p) for p in c.read("pids", "cgroup.procs").split()]


def vmrss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0  # a kernel thread or exited: no resident memory


def all_exec_d(pids):
    """True once every forked child runs sleep (its resident memory is sleep's from then on)."""
    def comm(pid):
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    return sum(comm(p) == "sleep" for p in pids) == PROCESSES


def series_names(samples, container):
    return sorted(n for (n, labels), _ in samples.items() if ("container", container) in labels)


def test_a_container_of_1000_processes_keeps_all_its_series():
    with KubepodsPod() as pod:
        big, small = pod.container(), pod.container()
        shell = big.spawn(["sh", "-c", FORK_SLEEPS], stdout=subprocess.PIPE, text=True)
        small.spawn(["sleep", "600"])
        assert shell.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 60
        while not all_exec_d(procs(big)):
            assert time.monotonic() < deadline, "the sleeps did not all start"
            time.sleep(0.1)
        pids = procs(big)
        assert len(pids) == PROCESSES + 1
        with running_podmeter("--interval", "0.5") as base:
            time.sleep(1.5)
            samples = parse(scrape(base))
            resident = sum(vmrss_bytes(p) for p in pids)

        got, want = series_names(samples, big.id[:12]), series_names(samples, small.id[:12])
        assert want, "the small container has no series"
        assert got == want, f"missing for the big container: {sorted(set(want) - set(got))}"
        labels = dict(pod=pod.uid, container=big.id[:12])
        assert value(samples, "podmeter_container_processes", **labels) == PROCESSES + 1
        assert value(samples, "podmeter_container_threads", **labels) == PROCESSES + 1
        got_resident = value(samples, "podmeter_container_process_resident_bytes", **labels)
        assert abs(got_resident - resident) <= 0.05 * resident, (got_resident, resident)
        assert value(samples, "podmeter_sample_errors_total", collector="processes") == 0

    assert not os.path.exists(pod.dirs["memory"]), "test cgroup left behind"
