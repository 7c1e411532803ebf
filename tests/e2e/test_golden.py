"""Golden-file tests: podmeter on each fixture tree, the whole /metrics text against a golden file.

Volatile self-metrics (timings, own CPU/RSS, exposer stats, version) are dropped before comparing;
deterministic ones (discovered pods/containers, error counters) stay. UPDATE_GOLDEN=1 rewrites.
"""
import gzip
import os
import shutil
import subprocess

import pytest

from harness import FIXTURES, GOLDEN, http_get, running_podmeter, scrape

TREES = ["v1-cgroupfs", "v1-systemd", "v2-systemd"]
VOLATILE = ("exposer_", "process_", "podmeter_build_info", "podmeter_samples_total",
            "podmeter_sample_duration_seconds", "podmeter_collector_duration_seconds",
            "podmeter_startup_watch_", "podmeter_startup_exec_events_lost_total",
            "podmeter_cgroup_walks_total")


def stable(text):
    keep = []
    for line in text.splitlines():
        name = line.split(" ")[2] if line.startswith("# ") else line
        if not name.startswith(VOLATILE):
            keep.append(line)
    return "\n".join(keep) + "\n"


@pytest.mark.parametrize("tree", TREES)
def test_metrics_match_golden(tree):
    root = os.path.join(FIXTURES, tree)
    with running_podmeter("--cgroup-root", os.path.join(root, "sys/fs/cgroup"),
                          "--proc-root", os.path.join(root, "proc"),
                          "--pods-file", os.path.join(root, "pods.json"),
                          "--no-relay") as base:  # fixture pod IPs are not on this machine
        got = stable(scrape(base))
    golden = os.path.join(GOLDEN, tree + ".prom")
    if os.environ.get("UPDATE_GOLDEN") == "1":
        with open(golden, "w") as f:
            f.write(got)
    with open(golden) as f:
        want = f.read()
    assert got == want, f"/metrics differs from {golden}; rerun with UPDATE_GOLDEN=1 if intended"


@pytest.mark.parametrize("tree", TREES)
def test_promtool_check_metrics_is_clean(tree):
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: scripts/setup installs Debian's prometheus package"
    root = os.path.join(FIXTURES, tree)
    with running_podmeter("--cgroup-root", os.path.join(root, "sys/fs/cgroup"),
                          "--proc-root", os.path.join(root, "proc"),
                          "--pods-file", os.path.join(root, "pods.json"),
                          "--no-relay") as base:  # fixture pod IPs are not on this machine
        text = scrape(base)
    res = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert res.stdout + res.stderr == "", res.stdout + res.stderr
    assert res.returncode == 0


def test_endpoints_and_gzip():
    root = os.path.join(FIXTURES, "v2-systemd")
    with running_podmeter("--cgroup-root", os.path.join(root, "sys/fs/cgroup"),
                          "--proc-root", os.path.join(root, "proc")) as base:
        status, body, headers = http_get(base + "/metrics", headers={"Accept-Encoding": "gzip"})
        assert status == 200
        assert headers.get("Content-Encoding") == "gzip"
        assert b"podmeter_pod_cpu_usage_seconds_total" in gzip.decompress(body)
        status, body, _ = http_get(base + "/")
        assert status == 200 and b'href="/metrics"' in body
        assert http_get(base + "/healthz")[0] == 200


def test_bad_flags_exit_2():
    from harness import podmeter_bin
    for args in (["--interval", "0"], ["--listen", "nope"], ["--bogus"],
                 ["--disable-collector", "gpu"], ["--log-level", "loud"]):
        res = subprocess.run([podmeter_bin(), *args], capture_output=True, text=True, timeout=10)
        assert res.returncode == 2, (args, res.returncode, res.stderr)
        assert len(res.stderr.strip().splitlines()) == 1, (args, res.stderr)


def test_values_that_can_never_work_exit_2_naming_the_flag(tmp_path):
    """Issue 15: these used to run with /healthz 200 and export nothing."""
    from harness import podmeter_bin
    root = os.path.join(FIXTURES, "v2-systemd")
    cgroup, proc = os.path.join(root, "sys/fs/cgroup"), os.path.join(root, "proc")
    (tmp_path / "proc/self").mkdir(parents=True)
    (tmp_path / "proc/self/mountinfo").write_text("22 1 259:1 / / rw - ext4 /dev/root rw\n")
    (tmp_path / "cgroup").mkdir()
    cases = [
        (["--cgroup-root", cgroup, "--proc-root", proc, "--pods-file", str(tmp_path / "no.json")],
         "--pods-file"),
        (["--cgroup-root", cgroup, "--proc-root", proc, "--pods-file", str(tmp_path)], "--pods-file"),
        (["--cgroup-root", str(tmp_path / "nonexistent"), "--proc-root", proc], "--cgroup-root"),
        (["--cgroup-root", str(tmp_path / "cgroup"), "--proc-root", str(tmp_path / "proc")],
         "--cgroup-root"),  # no cgroup mount at all
        (["--cgroup-root", cgroup, "--proc-root", str(tmp_path / "noproc")], "--proc-root"),
    ]
    for args, flag in cases:
        res = subprocess.run([podmeter_bin(), "--listen", "127.0.0.1:0", *args],
                             capture_output=True, text=True, timeout=10)
        assert res.returncode == 2, (args, res.returncode, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and flag in lines[0], (args, res.stderr)
