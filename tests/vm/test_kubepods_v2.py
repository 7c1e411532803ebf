"""podmeter on a real cgroup v2 kernel: Debian's 6.1 kernel booted under QEMU (tests/vm/vm.py)
with tests/vm/guest/kubepods_v2.sh as /init. The guest builds kubelet-shaped trees for the
systemd driver (a containerd and a CRI-O pod) and the cgroupfs driver (a Burstable and a
Guaranteed pod), runs known workloads and prints podmeter's /metrics together with the kernel's
own files, read while the trees are frozen (cgroup.freeze) so both describe the same moment.
One boot (~1–2 min under software emulation) serves every test here."""
import os
import shutil
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import vm  # noqa: E402
from harness import ROOT, parse, podmeter_bin  # noqa: E402

TOOLS = os.path.join(ROOT, "build", "tests")
BOOT_TIMEOUT = 300

UID = {k: f"0c0ffee{n}-0000-4000-8000-00000000000{n}" for n, k in
       enumerate(("cpu", "mem", "oom", "web"), start=1)}
CID = {k: f"c{n}" * 32 for n, k in enumerate(("cpu", "mem", "oom", "web"), start=1)}
BURST = "kubepods.slice/kubepods-burstable.slice"


def _pod_dir(k):
    if k in ("cpu", "mem"):
        return f"{BURST}/kubepods-burstable-pod{UID[k].replace('-', '_')}.slice"
    return f"kubepods/burstable/pod{UID[k]}" if k == "oom" else f"kubepods/pod{UID[k]}"


POD_DIR = {k: _pod_dir(k) for k in UID}
CONTAINER_DIR = {
    "cpu": f"{POD_DIR['cpu']}/cri-containerd-{CID['cpu']}.scope",
    "mem": f"{POD_DIR['mem']}/crio-{CID['mem']}.scope",
    "oom": f"{POD_DIR['oom']}/{CID['oom']}",
    "web": f"{POD_DIR['web']}/{CID['web']}",
}


@pytest.fixture(scope="module")
def guest(tmp_path_factory):
    """The blocks the guest printed ({name: text})."""
    if not shutil.which("qemu-system-x86_64") and os.geteuid() != 0:
        pytest.skip("needs qemu-system-x86 (scripts/setup) or root to install it")
    work = tmp_path_factory.mktemp("vm")
    initrd = str(work / "initrd.gz")
    binaries = {"opt/podmeter/podmeter": podmeter_bin()}
    for tool in ("hold_memory", "listen_after", "launch_in_cgroup"):
        binaries[f"opt/podmeter/{tool}"] = os.path.join(TOOLS, tool)
    with open(os.path.join(HERE, "guest", "kubepods_v2.sh")) as f:
        vm.build_initramfs(initrd, f.read(), binaries)
    log = os.environ.get("PODMETER_VM_LOG", str(work / "console.log"))
    blocks, _ = vm.boot(initrd, log, timeout=BOOT_TIMEOUT)
    return blocks


class Moment:
    """podmeter's samples and the kernel's files of one snapshot."""

    def __init__(self, blocks, tag):
        self.tag = tag
        self.blocks = blocks
        self.samples = parse(blocks[f"{tag}:metrics"])

    def file(self, rel, name):
        return self.blocks[f"{self.tag}:{rel}/{name}"]

    def keyed(self, rel, name):
        """A flat-keyed kernel file (cpu.stat, memory.stat, memory.events) as {key: int}."""
        return {k: int(v) for k, v in (line.split() for line in self.file(rel, name).splitlines())}

    def pressure(self, rel, resource):
        """{"some": seconds, "full": seconds} from <resource>.pressure's total= (µs)."""
        out = {}
        for line in self.file(rel, f"{resource}.pressure").splitlines():
            kind, *fields = line.split()
            out[kind] = int(dict(f.split("=") for f in fields)["total"]) / 1e6
        return out

    def container(self, name, k):
        return self._one(f"podmeter_container_{name}", pod=UID[k], container=CID[k][:12])

    def pod(self, name, k):
        return self._one(f"podmeter_pod_{name}", pod=UID[k])

    def has_container(self, name, k):
        return self._find(f"podmeter_container_{name}", pod=UID[k], container=CID[k][:12])

    def _find(self, name, **labels):
        want = set(labels.items())
        return [v for (n, l), v in self.samples.items() if n == name and want <= set(l)]

    def _one(self, name, **labels):
        found = self._find(name, **labels)
        assert len(found) == 1, f"{self.tag}: {name}{labels}: {len(found)} series"
        return found[0]


def close(got, want, rel):
    return abs(got - want) <= rel * abs(want)


def test_the_kernel_is_cgroup_v2_with_every_controller(guest):
    controllers = guest["controllers"].split()
    for c in ("cpu", "cpuset", "io", "memory", "pids", "hugetlb"):
        assert c in controllers, controllers
    print("kernel", guest["kernel"].strip())


def test_discovers_both_drivers_and_every_runtime(guest):
    m = Moment(guest, "t1")
    assert m._one("podmeter_discovered_pods") == 4
    assert m._one("podmeter_discovered_containers") == 4  # crio-conmon-<id>.scope is not one
    for k in UID:
        assert m.has_container("cpu_usage_seconds_total", k), k


@pytest.mark.parametrize("level", ["container", "pod"])
def test_cpu_usage_and_throttling_match_cpu_stat(guest, level):
    t0, t1 = Moment(guest, "t0"), Moment(guest, "t1")
    rel = CONTAINER_DIR["cpu"] if level == "container" else POD_DIR["cpu"]
    get = (lambda m, n: m.container(n, "cpu")) if level == "container" else (
        lambda m, n: m.pod(n, "cpu"))
    k0, k1 = t0.keyed(rel, "cpu.stat"), t1.keyed(rel, "cpu.stat")
    for m, k in ((t0, k0), (t1, k1)):
        assert close(get(m, "cpu_usage_seconds_total"), k["usage_usec"] / 1e6, 1e-9)
        assert close(get(m, "cpu_user_seconds_total"), k["user_usec"] / 1e6, 1e-9)
        assert close(get(m, "cpu_system_seconds_total"), k["system_usec"] / 1e6, 1e-9)
    kernel_rate = (k1["usage_usec"] - k0["usage_usec"]) / 1e6
    podmeter_rate = get(t1, "cpu_usage_seconds_total") - get(t0, "cpu_usage_seconds_total")
    assert close(podmeter_rate, kernel_rate, 0.02), (podmeter_rate, kernel_rate)
    # The busy loop ran the 10 s (plus the moments to freeze) under cpu.max 5000 100000: about
    # 0.05 cores where it would take a whole core unthrottled.
    assert 0 < kernel_rate / 10 <= 0.06, kernel_rate
    if level == "container":
        assert get(t1, "cpu_limit_cores") == pytest.approx(0.05)
        assert k1["nr_throttled"] > k0["nr_throttled"]
        for m, k in ((t0, k0), (t1, k1)):
            assert get(m, "cpu_cfs_periods_total") == k["nr_periods"]
            assert get(m, "cpu_cfs_throttled_periods_total") == k["nr_throttled"]
            assert close(get(m, "cpu_cfs_throttled_seconds_total"), k["throttled_usec"] / 1e6,
                         1e-9)


@pytest.mark.parametrize("level", ["container", "pod"])
def test_memory_matches_memory_stat(guest, level):
    m = Moment(guest, "t1")
    rel = CONTAINER_DIR["mem"] if level == "container" else POD_DIR["mem"]
    get = (lambda n: m.container(n, "mem")) if level == "container" else (
        lambda n: m.pod(n, "mem"))
    stat = m.keyed(rel, "memory.stat")
    current = int(m.file(rel, "memory.current"))
    assert stat["anon"] >= 96 << 20
    assert close(get("memory_usage_bytes"), current, 0.01)
    assert close(get("memory_working_set_bytes"), current - stat["inactive_file"], 0.01)
    assert close(get("memory_rss_bytes"), stat["anon"], 0.01)
    assert close(get("memory_cache_bytes"), stat["file"], 0.01)


def test_memory_limit_from_memory_max(guest):
    m = Moment(guest, "t1")
    assert m.file(CONTAINER_DIR["oom"], "memory.max").strip() == str(48 << 20)
    assert m.container("memory_limit_bytes", "oom") == 48 << 20
    assert not m.has_container("memory_limit_bytes", "mem")  # max


def test_processes_threads_and_resident_memory(guest):
    m = Moment(guest, "t1")
    want = {"cpu": (1, 1), "mem": (1, 4), "oom": (5, 5), "web": (1, 1)}
    for k, (procs, threads) in want.items():
        rel = CONTAINER_DIR[k]
        pids = m.file(rel, "cgroup.procs").split()
        assert len(pids) == procs, (k, pids)
        assert len(m.file(rel, "cgroup.threads").split()) == threads, k
        assert m.container("processes", k) == procs, k
        assert m.container("threads", k) == threads, k
        resident = sum(int(m.blocks[f"t1:proc/{p}/statm"].split()[1]) * 4096 for p in pids)
        assert m.container("process_resident_bytes", k) == resident, k


def test_startup_matches_the_servers_own_clock(guest):
    clock = {k: int(v) / 1e9 for k, v in (line.split() for line in guest["web"].splitlines())}
    measured = Moment(guest, "t1").container("startup_seconds", "web")
    # podmeter's clock starts at the kernel's exec event: after the launcher's stamp just before
    # execve and before the server's main() (the dynamic loader runs in between; 4-40 ms here
    # under emulation). It ends at the first poll (every 1 ms) that sees the listening socket.
    latest, earliest = clock["listen_ns"] - clock["exec_ns"], clock["listen_ns"] - clock["main_ns"]
    print(f"start-up: server exec→listen {latest * 1e3:.3f} ms, main→listen "
          f"{earliest * 1e3:.3f} ms, podmeter {measured * 1e3:.3f} ms")
    assert earliest >= 0.3
    assert earliest - 0.002 <= measured <= latest + 0.05, (earliest, measured, latest)


def test_container_oom_with_five_processes_counts_one(guest):
    m = Moment(guest, "oom")
    events = m.keyed(CONTAINER_DIR["oom"], "memory.events")
    # One group kill of 5 processes. Linux 6.1 counts oom_kill 6: the victim once when chosen and
    # again when memory.oom.group kills every member.
    assert events["oom_group_kill"] == 1 and events["oom_kill"] >= 5, events
    assert m.pod("oom_kills_total", "oom") == 1
    after = parse(guest["after_rmdir:metrics"])
    [kept] = [v for (n, l), v in after.items()
              if n == "podmeter_pod_oom_kills_total" and ("pod", UID["oom"]) in l]
    assert kept == 1


@pytest.mark.parametrize("pod,group", [("FA", False), ("FB", True)])
def test_an_oom_kill_in_a_containers_first_second_counts(guest, pod, group):
    """Over its limit at once, removed 0.2 s after it died, between two samples 5 s apart: only
    the pod's memory.events, which outlives the container, has the kill."""
    events = {k: int(v) for k, v in (line.split() for line in
                                     guest[f"fast_oom:{pod}/memory.events"].splitlines())}
    if group:
        assert events["oom_group_kill"] == 1, events
    else:
        assert events["oom_kill"] == 1 and events["oom_group_kill"] == 0, events
    uid = {"FA": "0c0ffee5-0000-4000-8000-000000000005",
           "FB": "0c0ffee6-0000-4000-8000-000000000006"}[pod]
    samples = parse(guest["fast_oom:metrics"])
    [kills] = [v for (n, l), v in samples.items()
               if n == "podmeter_pod_oom_kills_total" and ("pod", uid) in l]
    assert kills == 1
    [by_pod] = [v for (n, l), v in samples.items()
                if n == "podmeter_oom_kills_counted_total" and ("source", "pod_events") in l]
    assert by_pod >= 2  # FA and FB (and the earlier group kill, its container removed too)


def test_memory_stat_and_events_as_the_kernel_has_them(guest):
    for tag, k in (("t1", "mem"), ("squeeze", "mem"), ("oom", "oom")):
        m = Moment(guest, tag)
        for level, rel in (("container", CONTAINER_DIR[k]), ("pod", POD_DIR[k])):
            get = getattr(m, level)
            stat = m.keyed(rel, "memory.stat")
            events = m.keyed(rel, "memory.events")
            for key in ("anon", "file", "shmem"):
                assert get(f"memory_{key}_bytes", k) == stat[key], (tag, level, key)
            assert get("memory_high_events_total", k) == events["high"], (tag, level)
            assert get("memory_max_events_total", k) == events["max"], (tag, level)
    # The squeeze set memory.high under the 96 MiB holder's usage; the OOM hit memory.max.
    assert Moment(guest, "squeeze").container("memory_high_events_total", "mem") > 0
    assert Moment(guest, "oom").container("memory_max_events_total", "oom") > 0


def test_pids_current_and_max(guest):
    m = Moment(guest, "t1")
    for k in UID:
        for level, rel in (("container", CONTAINER_DIR[k]), ("pod", POD_DIR[k])):
            assert getattr(m, level)("pids", k) == int(m.file(rel, "pids.current")), (k, level)
    assert m.container("pids", "mem") == 4  # one process, four threads
    assert m.container("pids_limit", "web") == 64
    assert not m.has_container("pids_limit", "mem")  # max


@pytest.mark.parametrize("resource,k", [("cpu", "cpu"), ("memory", "mem")])
def test_pressure_counters_match_and_rise_under_the_squeeze(guest, resource, k):
    t1, squeeze = Moment(guest, "t1"), Moment(guest, "squeeze")
    for m in (t1, squeeze):
        for level, rel in (("container", CONTAINER_DIR[k]), ("pod", POD_DIR[k])):
            kernel = m.pressure(rel, resource)
            get = getattr(m, level)
            assert get(f"pressure_{resource}_waiting_seconds_total", k) == pytest.approx(
                kernel["some"], abs=1e-6), (m.tag, level)
            assert get(f"pressure_{resource}_stalled_seconds_total", k) == pytest.approx(
                kernel["full"], abs=1e-6), (m.tag, level)
    before = t1.container(f"pressure_{resource}_waiting_seconds_total", k)
    after = squeeze.container(f"pressure_{resource}_waiting_seconds_total", k)
    print(f"{resource} pressure of the {k} container: {before:.3f} s → {after:.3f} s")
    assert after > before
