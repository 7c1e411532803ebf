import glob
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "lib"))

from harness import ROOT, free_port  # noqa: E402
from host_lock import take_host_lock  # noqa: E402

LAB = os.environ.get("PODMETER_LAB", os.path.join(ROOT, "build", "lab", "podmeter-lab"))


def pytest_configure(config):
    take_host_lock(config)  # scripts/lib/host_lock.py


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


@pytest.fixture(scope="session")
def lab_suites_tiny_run(tmp_path_factory):
    """One `podmeter-lab run --suite fib,snowflake,sha256 --profile tiny`: the three reference
    reports' suites in one lab run (their six apps at once, each suite against its own),
    shared by tests/e2e/test_suites.py: (summary dict, stdout, run directory)."""
    from kubepods_v1 import v1_mounts

    if os.geteuid() != 0 or "memory" not in v1_mounts():
        pytest.skip("needs root and cgroup v1 (memory)")
    results = tmp_path_factory.mktemp("lab-suites")
    res = subprocess.run([LAB, "--repo", ROOT, "run", "--suite", "fib,snowflake,sha256",
                          "--profile", "tiny", "--results", str(results)],
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    [summary] = glob.glob(str(results / "*" / "summary.json"))
    return json.load(open(summary)), res.stdout, os.path.dirname(summary)


class RunPrometheus:
    """A Debian prometheus over a finished run's TSDB: no scrape targets, no rules, a free
    loopback port, so nothing is added to the run's data. One at a time per TSDB (its lock):
    use it from a module-scoped fixture and stop() it at the module's end."""

    def __init__(self, tsdb, workdir):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = os.path.join(workdir, "prometheus-read-only.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1h\n  evaluation_interval: 1h\n")
        self.log = open(os.path.join(workdir, "prometheus-read-only.log"), "w")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tsdb}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=10y"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, f"prometheus exited; see {self.log.name}"
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"prometheus not ready; see {self.log.name}"
            time.sleep(0.2)

    def api(self, path, **params):
        """The answer's data of /api/v1/<path>; fails the test on an error status."""
        url = f"{self.url}/api/v1/{path}?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=30) as r:
            body = json.load(r)
        assert body["status"] == "success", (params, body)
        return body["data"]

    def query(self, expr, at):
        """Instant vector at unix time `at`: [(labels dict, value)]."""
        data = self.api("query", query=expr, time=f"{at:.3f}")
        return [(s["metric"], float(s["value"][1])) for s in data["result"]]

    def query_range(self, expr, start, end, step=1):
        """Range vectors: [{"metric": labels, "values": [[t, "v"], ...]}]."""
        return self.api("query_range", query=expr, start=start, end=end, step=step)["result"]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def run_prometheus(lab_tiny_run, tmp_path_factory):
    """A RunPrometheus over the session's tiny run, for one test module (stopped at its end)."""
    _, _, run_dir = lab_tiny_run
    prom = RunPrometheus(os.path.join(run_dir, "prometheus"), str(tmp_path_factory.mktemp("prom")))
    try:
        yield prom
    finally:
        prom.stop()
