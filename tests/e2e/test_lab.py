"""podmeter-lab run on this machine with the tiny profile (every scenario for a few seconds): the
three reference Deployments as pods in real cgroups, podmeter, Prometheus and k6; checks the
summary against what the scenarios did to the pods, and that everything is removed."""
import os
import subprocess

import pytest

from harness import ROOT
from kubepods_v1 import v1_mounts

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or "memory" not in v1_mounts(), reason="needs root and cgroup v1 (memory)")

LAB = os.path.join(ROOT, "build", "lab", "podmeter-lab")


@pytest.fixture(scope="module")
def tiny_run(lab_tiny_run):
    return lab_tiny_run


def scenario(summary, name):
    [s] = [s for s in summary["scenarios"] if s["scenario"] == name]
    return s


def test_every_runtime_has_numbers(tiny_run):
    summary, _, run_dir = tiny_run
    pods = {p["app"]: p for p in summary["pods"]}
    assert set(pods) == {"rust-api", "go-api", "django-api"}
    for app, p in pods.items():
        # podmeter's exec→listen and the server's own figure are both there.
        assert 0 < p["startup_seconds"] < 30, (app, p)
        assert 0 < p["self_reported_startup_seconds"] < 30, (app, p)
        assert p["idle_working_set_bytes"] > 0 and p["idle_rss_bytes"] > 0, (app, p)
    rows = {r["runtime"]: r for r in scenario(summary, "load")["k6"]["rows"]}
    assert set(rows) == {"rust", "go", "django"}
    for runtime, r in rows.items():
        assert r["requests"] > 0 and r["p95_ms"] > 0, (runtime, r)
    assert os.path.exists(os.path.join(run_dir, "summary.md"))
    assert os.path.isdir(os.path.join(run_dir, "prometheus"))


def test_pod_kill_restart_is_counted(tiny_run):
    summary, _, _ = tiny_run
    for p in summary["pods"]:
        assert p["kubelet_restarts"] == 1, p
        assert p["restarts_observed"] == 1, p  # podmeter saw the new container id
    for row in scenario(summary, "pod-kill")["k6"]["rows"]:
        assert row["pod_kill"]["recovery_seconds"] >= 0


def test_squeeze_throttles_at_50m(tiny_run):
    summary, _, _ = tiny_run
    s = scenario(summary, "squeeze")
    for p in s["podmeter"]:
        assert p["throttled_ratio"] > 0.2, p
        # Under a 50m quota no runtime can use more than 0.05 cores over the scenario.
        assert p["cpu_seconds"] <= 0.05 * s["seconds"] * 1.1, (p, s["seconds"])


def test_everything_is_removed(tiny_run):
    _, stdout, _ = tiny_run
    assert "removed the cgroups" in stdout
    assert not os.path.exists(os.path.join(v1_mounts()["memory"], "kubepods"))


def test_lab_clean_and_clear_errors():
    res = subprocess.run([LAB, "clean"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    res = subprocess.run([LAB, "run", "--replicas", "0"], capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.strip()
    res = subprocess.run([LAB, "run", "--scenarios", "nope"], capture_output=True, text=True)
    assert res.returncode == 2 and "unknown scenario" in res.stderr
    res = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                          LAB, "run"], capture_output=True, text=True)
    assert res.returncode == 1 and "as root" in res.stderr
