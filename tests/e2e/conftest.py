import glob
import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "lib"))

from harness import ROOT  # noqa: E402

LAB = os.environ.get("PODMETER_LAB", os.path.join(ROOT, "build", "lab", "podmeter-lab"))


@pytest.fixture(scope="session")
def lab_tiny_run(tmp_path_factory):
    """One `podmeter-lab run --profile tiny` (every scenario for a few seconds), shared by every
    test that needs a finished lab run: (summary dict, stdout, run directory). The run's
    Prometheus TSDB stays in the run directory for tests that query it afterwards."""
    from kubepods_v1 import v1_mounts

    if os.geteuid() != 0 or "memory" not in v1_mounts():
        pytest.skip("needs root and cgroup v1 (memory)")
    results = tmp_path_factory.mktemp("lab")
    res = subprocess.run([LAB, "--repo", ROOT, "run", "--profile", "tiny", "--results",
                          str(results)], capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    [summary] = glob.glob(str(results / "*" / "summary.json"))
    return json.load(open(summary)), res.stdout, os.path.dirname(summary)
