"""podmeter-lab run on this machine: the three reference Deployments as pods in real cgroups,
podmeter and Prometheus started, a replica killed halfway, everything removed at the end."""
import glob
import json
import os
import subprocess

import pytest

from harness import ROOT
from kubepods_v1 import v1_mounts

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or "memory" not in v1_mounts(), reason="needs root and cgroup v1 (memory)")


def test_lab_runs_the_stack_and_counts_the_pod_kill(tmp_path):
    lab = os.path.join(ROOT, "build", "lab", "podmeter-lab")
    res = subprocess.run([lab, "--repo", ROOT, "run", "--hold", "10", "--results", str(tmp_path)],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    [summary_file] = glob.glob(str(tmp_path / "*" / "summary.json"))
    summary = json.load(open(summary_file))
    by_app = {p["app"]: p for p in summary["pods"]}
    assert set(by_app) == {"rust-api", "go-api", "django-api"}
    for app, p in by_app.items():
        assert p["startup_seconds"] is not None and 0 < p["startup_seconds"] < 30, (app, p)
        assert p["working_set_bytes"] and p["working_set_bytes"] > 0, (app, p)
    # The first app's replica was killed halfway: restarted, and podmeter saw the new container.
    assert by_app["rust-api"]["kubelet_restarts"] == 1
    assert by_app["rust-api"]["restarts_observed"] == 1
    # Everything was removed.
    assert not os.path.exists(os.path.join(v1_mounts()["memory"], "kubepods"))
    assert "removed the cgroups" in res.stdout


def test_lab_clean_and_clear_errors():
    lab = os.path.join(ROOT, "build", "lab", "podmeter-lab")
    res = subprocess.run([lab, "clean"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    res = subprocess.run([lab, "run", "--replicas", "0"], capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.strip()
    res = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                          lab, "run"], capture_output=True, text=True)
    assert res.returncode == 1 and "as root" in res.stderr
