"""bench/compare's pieces: the floor program reads what its list names (counted against the files
themselves), and a 2-pod, 3 s run of podmeter and the floor makes the synthetic node in real v1
cgroups, measures both, and removes every cgroup and process. The Go peers (cAdvisor's library
stand-in, process-exporter) and node_exporter run the same way when they are built/installed
(bench/compare/build_peers.sh), else those cases are skipped."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from harness import FIXTURES, ROOT, podmeter_bin, running_podmeter
from kubepods_v1 import v1_mounts

sys.path.insert(0, os.path.join(ROOT, "bench", "compare"))
import compare  # noqa: E402

needs_v1 = pytest.mark.skipif(
    os.geteuid() != 0 or not all(c in v1_mounts() for c in ("cpu", "cpuacct", "memory", "pids")),
    reason="needs root and cgroup v1 (cpu, cpuacct, memory, pids)")


def test_floor_reads_each_listed_file_and_each_pids_proc_files(tmp_path, monkeypatch):
    monkeypatch.setattr(compare, "CACHE", str(tmp_path / "cache"))
    files = []
    for i, text in enumerate(["12345\n", "a" * 5000, ""]):
        p = tmp_path / f"f{i}"
        p.write_text(text)
        files.append(p)
    # Two live pids (this process and its parent): 3 /proc files each.
    pids = [os.getpid(), os.getppid()]
    procs = tmp_path / "cgroup.procs"
    procs.write_text("".join(f"{p}\n" for p in pids))
    listing = tmp_path / "list"
    listing.write_text("".join(f"f {p}\n" for p in files) + f"p {procs}\ns {procs}\n"
                       f"f {tmp_path / 'absent'}\n# comment\n")
    res = subprocess.run([compare.floor_binary(), str(listing), "3", "10"], capture_output=True,
                         text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    got = dict(kv.split("=") for kv in res.stdout.split())
    assert got["rounds"] == "3"
    # The files, cgroup.procs and 3 files per pid (p), cgroup.procs and statm per pid (s), absent.
    assert int(got["opens"]) == len(files) + 1 + 3 * len(pids) + 1 + len(pids) + 1
    assert got["failed"] == "1"
    listed = sum(p.stat().st_size for p in files) + 2 * procs.stat().st_size
    # /proc files of two live processes: stat, status and statm hold at least ~20 bytes each.
    assert listed + 4 * len(pids) * 20 < int(got["bytes"]) < listed + 4 * len(pids) * 4096


def _run(tmp_path, tools, pods=2, window=3):
    out = tmp_path / "compare.json"
    rc = compare.main(["--pods", str(pods), "--window", str(window), "--warmup", "2",
                       "--no-growth", "--count-opens", "0", "--tools", ",".join(tools),
                       "--podmeter", podmeter_bin(),
                       "--json", str(out)])
    assert rc == 0
    return json.loads(out.read_text())


def _sleepers():
    """pids of `sleep` processes in any kubepods cgroup."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cgroup") as f:
                cg = f.read()
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        if "/kubepods/" in cg and comm == "sleep":
            found.append(pid)
    return found


def _pod_dirs():
    """Every kubepods cgroup directory in every v1 hierarchy this tool uses."""
    found = set()
    for ctl in ("cpu", "cpuacct", "memory", "pids"):
        top = os.path.join(v1_mounts()[ctl], "kubepods")
        for dirpath, _, _ in os.walk(top):
            found.add(dirpath)
    return found


@needs_v1
def test_podmeter_and_floor_on_two_pods_leave_nothing_behind(tmp_path, capsys):
    before = _pod_dirs()
    data = _run(tmp_path, ["podmeter", "floor", "floor-libproc2"])
    pm, fl = data["main"]["podmeter"], data["main"]["floor"]
    # 3 s at 1 s: three scrapes of a /metrics that holds both pods' series.
    assert pm["scrapes"] == 3
    assert pm["bytes"] > 10_000
    # In nanoseconds from the tool's own cpuacct cgroup: even 2 pods for 3 s cost podmeter some.
    assert 0 < pm["cpu_ms_per_s"] < 1000
    assert 0 < fl["cpu_ms_per_s"] < 1000
    assert pm["peak_rss_mib"] >= pm["steady_rss_mib"] > 1
    assert pm["steady_rss_mib"] > pm["steady_anon_mib"] > 0
    # Its memory cgroup's charge beyond file pages holds its anonymous pages and the kernel's
    # (kept-open files among them).
    assert pm["steady_charged_mib"] >= pm["steady_kmem_mib"] > 0
    assert pm["steady_charged_mib"] > 0.5 * pm["steady_anon_mib"]
    assert pm["p50_ms"] <= pm["p99_ms"]
    # The floor's opens per sample: per pod 3 cgroups × 11 cgroup files, per container tasks and
    # cgroup.procs, per process statm (9 processes per pod), none failed; the floor as before
    # issue 16 read stat, status and statm per process.
    floor = dict(kv.split("=") for kv in fl["floor"].split())
    assert int(floor["opens"]) == 2 * (3 * 11 + 2 * 2 + 9 * 1), floor
    assert floor["failed"] == "0"
    old = dict(kv.split("=") for kv in data["main"]["floor-libproc2"]["floor"].split())
    assert int(old["opens"]) == 2 * (3 * 11 + 2 * 2 + 9 * 3), old
    assert old["failed"] == "0"
    assert data["main"]["floor-libproc2"]["cpu_ms_per_s"] > 0
    assert fl["p99_ms"] is None and fl["bytes"] is None
    printed = capsys.readouterr().out
    assert "| podmeter | " in printed and "| floor: " in printed
    # Everything made is gone.
    assert _sleepers() == []
    assert _pod_dirs() == before
    for ctl in ("cpuacct", "memory"):
        top = v1_mounts()[ctl]
        assert [d for d in os.listdir(top) if d.startswith("podmeter-compare-")] == [], ctl


@needs_v1
@pytest.mark.parametrize("tool", ["cadvisor-lib", "process-exporter", "node_exporter"])
def test_peer_is_measured_on_two_pods(tmp_path, tool):
    class A:  # what compare.missing() reads
        podmeter = podmeter_bin()
    why = compare.missing(tool, A)
    if why:
        pytest.skip(why)
    before = _pod_dirs()
    data = _run(tmp_path, ["podmeter", tool])
    r = data["main"][tool]
    assert r["scrapes"] == 3 and r["bytes"] > 1000
    assert r["peak_rss_mib"] > 1
    assert _sleepers() == []
    assert _pod_dirs() == before


def _pod_and_container_cgroups(root, file):
    """Directories of pods (pod<uid>) and containers (64 hex) under root/**/kubepods holding file."""
    n = 0
    for dirpath, _, files in os.walk(root):
        base = os.path.basename(dirpath)
        is_id = len(base) == 64 and all(c in "0123456789abcdef" for c in base)
        if "/kubepods" in dirpath and file in files and (base.startswith("pod") or is_id):
            n += 1
    return n


@pytest.mark.skipif(not shutil.which("strace"), reason="needs strace")
def test_opens_per_sample_counts_whole_samples(tmp_path):
    """podmeter on the v1-cgroupfs fixture tree: each cgroup file podmeter opens in a sample is
    opened once per pod or container cgroup that holds it, and the counts are whole numbers (the
    opens between two increments of podmeter_samples_total are whole samples). Each process every
    sample (--process-interval of one sample): on the default cadence a fifth of the processes,
    staggered by pid, have their statm opened in each sample, a count that varies by sample."""
    tree = os.path.join(FIXTURES, "v1-cgroupfs")
    cgroup_root = os.path.join(tree, "sys", "fs", "cgroup")
    with running_podmeter("--interval", "0.3", "--process-interval", "0.3",
                          "--cgroup-root", cgroup_root,
                          "--proc-root", os.path.join(tree, "proc")) as base:
        port = int(base.rsplit(":", 1)[1])
        pid = next(int(p) for p in os.listdir("/proc") if p.isdigit() and _listens(p, port))
        total, kinds = compare.opens_per_sample(pid, port, 3, str(tmp_path))
    assert total == round(total), kinds
    assert all(v == round(v) for v in kinds.values()), kinds
    # A file podmeter opens in every sample is opened once per pod/container cgroup (10 here);
    # one it keeps open or reads only for new cgroups is not in kinds at all.
    for name in ("cpuacct.usage", "cpu.stat", "memory.stat", "memory.usage_in_bytes"):
        if name in kinds:
            assert kinds[name] == _pod_and_container_cgroups(cgroup_root, name), (name, kinds)


def _listens(pid, port):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f"127.0.0.1:{port}".encode() in f.read()
    except OSError:
        return False


@needs_v1
def test_ab_runs_two_builds_at_once_and_leaves_nothing_behind(tmp_path, capsys):
    """bench/compare/ab.py with the same build twice (an A/A run): each round reads both
    builds' CPU from their own cpuacct cgroups on one synthetic node, then everything goes."""
    import ab  # noqa: E402  (bench/compare/ab.py)

    before = _pod_dirs()
    ab.main([podmeter_bin(), podmeter_bin(), "--pods", "2", "--rounds", "2", "--window", "1",
             "--warmup", "1"])
    printed = capsys.readouterr().out
    rounds = [line for line in printed.splitlines() if line.startswith("round ")]
    assert len(rounds) == 2, printed
    for line in rounds:
        # "round 1: A 3.1 ms/s, B 3.0 ms/s, B/A 0.968": both measured, in nanoseconds.
        fields = line.replace(",", "").split()
        assert float(fields[3]) > 0 and float(fields[6]) > 0, line
    assert "median B/A over 2 rounds of 1 s" in printed
    assert _sleepers() == []
    assert _pod_dirs() == before
    for ctl in ("cpuacct", "memory"):
        top = v1_mounts()[ctl]
        assert [d for d in os.listdir(top) if d.startswith("podmeter-compare-")] == [], ctl
