"""podmeter on a real cgroup v2 kernel: Debian's 6.1 kernel booted under QEMU (tests/vm/vm.py)
with tests/vm/guest/kubepods_v2.sh as /init. The guest builds kubelet-shaped trees for the
systemd driver (a containerd and a CRI-O pod) and the cgroupfs driver (a Burstable and a
Guaranteed pod), runs known workloads and prints podmeter's /metrics together with the kernel's
own files, read while the trees are frozen (cgroup.freeze) so both describe the same moment.
Before them, `podmeter-lab pod` (the lab's own cgroup code) lays out a pod of k8s/base's rust-api
Deployment; podmeter reads the lab's PodList.
One boot (~1–2 min under software emulation) serves every test here."""
import os
import re
import shutil
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import vm  # noqa: E402
from harness import ROOT, parse, podmeter_bin  # noqa: E402

TOOLS = os.path.join(ROOT, "build", "tests")
LAB_BIN = os.path.join(ROOT, "build", "lab", "podmeter-lab")
LAB_DEPLOYMENT = os.path.join(ROOT, "k8s", "base", "rust-api-deployment.yaml")
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
    binaries = {"opt/podmeter/podmeter": podmeter_bin(), "opt/podmeter/podmeter-lab": LAB_BIN}
    for tool in ("hold_memory", "listen_after", "launch_in_cgroup"):
        binaries[f"opt/podmeter/{tool}"] = os.path.join(TOOLS, tool)
    with open(LAB_DEPLOYMENT, "rb") as f:
        files = {"opt/podmeter/rust-api-deployment.yaml": f.read()}
    with open(os.path.join(HERE, "guest", "kubepods_v2.sh")) as f:
        vm.build_initramfs(initrd, f.read(), binaries, files)
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
    assert m._one("podmeter_discovered_pods") == 5  # and the lab's
    assert m._one("podmeter_discovered_containers") == 5  # crio-conmon-<id>.scope is not one
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
    # One start, under emulation that the host's load slows: up to 100 ms after the listen (a
    # sampling exporter would be off by its interval, 200 ms here, or miss the start).
    assert earliest - 0.002 <= measured <= latest + 0.1, (earliest, measured, latest)


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


def test_io_pressure_counters_match(guest):
    for tag in ("t1", "squeeze", "oom"):
        m = Moment(guest, tag)
        for k in ("cpu", "mem", "web"):
            for level, rel in (("container", CONTAINER_DIR[k]), ("pod", POD_DIR[k])):
                kernel = m.pressure(rel, "io")
                get = getattr(m, level)
                assert get("pressure_io_waiting_seconds_total", k) == pytest.approx(
                    kernel["some"], abs=1e-6), (tag, k, level)
                assert get("pressure_io_stalled_seconds_total", k) == pytest.approx(
                    kernel["full"], abs=1e-6), (tag, k, level)


# The lab's pod (podmeter-lab pod, lab/cgroups.cc) from k8s/base/rust-api-deployment.yaml.

def kubelet_cpu_weight(request_millis):
    """The kubelet's cpu.weight for a CPU request: MilliCPUToShares, then CpuSharesToCpuWeight."""
    shares = min(262144, max(2, request_millis * 1024 // 1000))
    return 1 + (shares - 2) * 9999 // 262142


def _quantity(q):
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    for suffix, factor in units.items():
        if str(q).endswith(suffix):
            return float(str(q)[:-len(suffix)]) * factor
    return float(q)


@pytest.fixture(scope="module")
def lab(guest):
    """The lab pod's identity ({pod, uid, qos, pod_cgroup, container, container_id, …}) and the
    Deployment's resources ({cpu_request_millis, cpu_limit_millis, memory_limit_bytes})."""
    import yaml
    info = dict(line.split("=", 1) for line in guest["labpod"].splitlines() if "=" in line)
    with open(LAB_DEPLOYMENT) as f:
        [container] = yaml.safe_load(f)["spec"]["template"]["spec"]["containers"]
    res = container["resources"]
    info["cpu_request_millis"] = round(_quantity(res["requests"]["cpu"]) * 1000)
    info["cpu_limit_millis"] = round(_quantity(res["limits"]["cpu"]) * 1000)
    info["memory_limit_bytes"] = int(_quantity(res["limits"]["memory"]))
    return info


def test_kubelet_cpu_weight_formula():
    # Worked by hand: 100m → 102 shares → 1 + 100·9999/262142 = 4.81 → 4; 1 core → 1024 → 39.
    assert [kubelet_cpu_weight(m) for m in (0, 1, 100, 250, 500, 1000, 2000, 256000)] == [
        1, 1, 4, 10, 20, 39, 79, 10000]


def test_lab_pod_cgroups_carry_the_kubelets_values(guest, lab):
    m = Moment(guest, "t1")
    assert lab["qos"] == "Burstable"
    pod_rel, container_rel = lab["pod_cgroup"], lab["container_cgroup"]
    assert pod_rel == f"kubepods/burstable/pod{lab['uid']}"
    assert container_rel == f"{pod_rel}/{lab['container_id']}" and len(lab["container_id"]) == 64
    weight = kubelet_cpu_weight(lab["cpu_request_millis"])
    assert weight == 4  # rust-api requests 100m
    quota = lab["cpu_limit_millis"] * 100000 // 1000
    for rel in (pod_rel, container_rel):
        assert int(m.file(rel, "cpu.weight")) == weight, rel
        assert m.file(rel, "cpu.max").strip() == f"{quota} 100000", rel
        assert int(m.file(rel, "memory.max")) == lab["memory_limit_bytes"] == 128 << 20, rel
        assert m.file(rel, "pids.max").strip() == "4096", rel
    assert m.file(container_rel, "memory.oom.group").strip() == "1"
    assert m.file(pod_rel, "memory.oom.group").strip() == "0"  # the kubelet sets containers only
    assert m.file(container_rel, "cgroup.procs").split() == [lab["pid"]]


def test_lab_enables_controllers_from_the_root_down_to_the_pod(guest, lab):
    # As the kubelet (runc) does: every controller a level offers, enabled for its children, at
    # the root and at every level above the container.
    for rel in (".", "kubepods", "kubepods/burstable", lab["pod_cgroup"]):
        offered = set(guest[f"labpod:{rel}/cgroup.controllers"].split())
        enabled = set(guest[f"labpod:{rel}/cgroup.subtree_control"].split())
        assert {"cpu", "memory", "pids"} <= offered, (rel, offered)
        assert enabled == offered, (rel, enabled, offered)


def test_podmeter_scrapes_the_lab_pod_by_its_podlist_names(guest, lab):
    m = Moment(guest, "t1")
    pod, uid = lab["pod"], lab["uid"]
    assert pod.startswith("rust-api-")
    assert m._one("podmeter_pod_info", namespace="podmeter-bench", pod=pod, uid=uid,
                  qos_class="Burstable", app="rust-api") == 1
    assert m._one("podmeter_container_info", pod=pod, container=lab["container"],
                  container_id=lab["container_id"]) == 1

    def get(name):
        return m._one(f"podmeter_container_{name}", namespace="podmeter-bench", pod=pod,
                      container=lab["container"])

    rel = lab["container_cgroup"]
    stat = m.keyed(rel, "memory.stat")
    assert get("cpu_limit_cores") == pytest.approx(lab["cpu_limit_millis"] / 1000)
    assert get("memory_limit_bytes") == lab["memory_limit_bytes"]
    assert get("pids_limit") == 4096
    assert get("processes") == 1 and get("threads") == 3  # hold_memory 24 2
    assert get("pids") == int(m.file(rel, "pids.current")) == 3
    assert stat["anon"] >= 24 << 20
    assert close(get("memory_rss_bytes"), stat["anon"], 0.01)
    assert close(get("cpu_usage_seconds_total"), m.keyed(rel, "cpu.stat")["usage_usec"] / 1e6,
                 1e-9)


def test_lab_container_oom_counts_one_and_the_lab_restarts_it(guest, lab):
    # One process over memory.max in the lab's container (memory.oom.group=1): one OOM, as for a
    # Rust pod; the lab's PodList says OOMKilled and counts the restart, podmeter sees it too.
    m = Moment(guest, "lab_oom")
    events = m.keyed(lab["pod_cgroup"], "memory.events")
    assert events["oom_group_kill"] == 1 and events["oom_kill"] >= 1, events
    pod = {"namespace": "podmeter-bench", "pod": lab["pod"]}
    container = dict(pod, container=lab["container"])
    assert m._one("podmeter_pod_oom_kills_total", **pod) == 1
    assert m._one("podmeter_container_last_termination_reason_info", reason="OOMKilled",
                  **container) == 1
    assert m._one("podmeter_container_kubelet_restarts", **container) == 1
    assert m._one("podmeter_container_restarts_total", **container) == 1
    [new_id] = [dict(l)["container_id"] for (n, l), v in m.samples.items()
                if n == "podmeter_container_info" and ("pod", lab["pod"]) in l]
    assert new_id != lab["container_id"]


def test_lab_removes_its_pod_and_what_it_created(guest):
    # SIGTERM: exit 0, the container's and the pod's cgroups gone, and kubepods, which it made.
    exit_code, left = re.fullmatch(r"exit=(\d+) left=(.*)", guest["lab_stop"].strip()).groups()
    assert exit_code == "0" and left.strip() == "", guest["lab_stop"]
    assert "# removed the pod and its cgroups" in guest["lab_stop_out"]
