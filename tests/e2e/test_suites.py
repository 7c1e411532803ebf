"""podmeter-lab run --suite: the three reference reports' suites (fib, snowflake, sha256) in one
tiny lab run: every runtime of a suite got its report's requests and answered them, the
figures are there, and each scoreboard has its report's columns, sizes and ratios."""
import json
import os
import subprocess

import pytest

from harness import ROOT
from kubepods_v1 import v1_mounts

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or "memory" not in v1_mounts(), reason="needs root and cgroup v1 (memory)")

SUITES = {
    "fib": ({"actix", "go", "flask"}, {"single", "load", "spike", "soak"}),
    "snowflake": ({"rust", "fasthttp"}, {"ids"}),
    "sha256": ({"hyper", "go"}, {"main"}),
}

# Rows of each suite's table in summary.md: the report's own columns.
REPORT_ROWS = {
    "fib": ["Docker image (unpacked)", "Memory at idle (working set)",
            "Memory under load (peak working set)", "Single request (avg)", "load: requests/sec",
            "load: avg response", "spike: p95 response", "soak: total requests",
            "soak: HTTP errors"],
    "snowflake": ["Response time min", "Response time max", "Response time average",
                  "Response time std dev", "Total requests", "Success rate", "CPU usage average",
                  "CPU usage std dev", "RAM average", "RAM std dev", "Binary size (bytes)"],
    "sha256": ["P50", "P90", "P95", "P99", "Avg", "Successful", "Failed", "Error rate"],
}
IMAGES_DIR = os.environ.get("PODMETER_IMAGES_DIR", "/var/cache/podmeter/images")
try:
    with open(os.path.join(IMAGES_DIR, "sizes.json")) as f:
        IMAGE_SIZES = json.load(f)
except FileNotFoundError:
    IMAGE_SIZES = {}
COMMON_ROWS = ["image archive (OCI, gzip)", "image unpacked", "binary (interpreter for Python)",
               "idle working set", "peak working set under load"]


@pytest.fixture(scope="module")
def suites_run(lab_suites_tiny_run):
    return lab_suites_tiny_run


def board(summary, name):
    return summary["suites"][name]


def test_only_the_suites_apps_and_scenarios_ran(suites_run):
    summary, _, _ = suites_run
    apps = {p["app"] for p in summary["pods"]}
    assert apps == {"actix-api", "go-api", "flask-api", "rust-api", "fasthttp-api", "hyper-api"}
    assert [s["scenario"] for s in summary["scenarios"]] == ["fib", "snowflake", "sha256"]
    assert set(summary["suites"]) == set(SUITES)


# Flask serves one or two fib(30) per second at 500m: what k6 cut off at the end of a test of
# seconds is still queued in gunicorn's backlog during the next one, which may then see no answer
# in the tiny profile. Its first test (single requests, one at a time) always has answers.
SLOW = {("fib", "flask")}


@pytest.mark.parametrize("name", sorted(SUITES))
def test_every_runtime_got_requests_and_answered(suites_run, name):
    summary, _, _ = suites_run
    runtimes, tests = SUITES[name]
    [sc] = [s for s in summary["scenarios"] if s["scenario"] == name]
    rows = sc["k6"]["rows"]
    assert {(r["runtime"], r["test"]) for r in rows} == {(r, t) for r in runtimes for t in tests}
    for r in rows:
        if (name, r["runtime"]) in SLOW and r["test"] != "single":
            assert r["requests"] >= 0 and r["failed"] == 0, r
            if r["requests"] == 0:
                continue
        # Every test of every runtime had requests, all answered with the right body (the
        # checks: fib(30) = 832040, an id, a 64-hex hash) and timed.
        assert r["requests"] > 0 and r["failed"] == 0 and r["checks_rate"] == 1, r
        assert r["avg_ms"] > 0 and r["p95_ms"] >= r["p50_ms"] > 0, r
    # Only the suite's runtimes were loaded: podmeter saw their pods busy.
    cpu = {p["app"].split("-")[0]: p["cpu_seconds"] for p in sc["podmeter"]}
    for runtime in runtimes:
        assert cpu[runtime] > 0, (runtime, cpu)


@pytest.mark.parametrize("name", sorted(SUITES))
def test_scoreboard_has_the_reports_figures(suites_run, name):
    summary, _, _ = suites_run
    b = board(summary, name)
    runtimes, tests = SUITES[name]
    assert {e["runtime"] for e in b["runtimes"]} == runtimes
    for e in b["runtimes"]:
        f = e["figures"]
        for t in tests:
            if (name, e["runtime"]) in SLOW and t != "single":
                continue
            assert f[f"{t}_requests"] > 0 and f[f"{t}_avg_ms"] > 0, (e["runtime"], t, f)
        assert f["idle_mib"] > 0 and f["load_mib"] > 0, (e["runtime"], f)
        # The file the server runs, as on disk (the interpreter for Flask).
        assert e["binary_bytes"] == os.path.getsize(e["binary_path"]) > 0, e
        assert e["binary_kind"] == ("interpreter" if e["runtime"] == "flask" else "binary")
        # The image's sizes as scripts/images recorded them, when its image was built here.
        recorded = IMAGE_SIZES.get(e["image"])
        if recorded:
            assert e["image_unpacked_bytes"] == recorded["unpacked_bytes"], e
            assert e["image_archive_bytes"] == recorded["archive_bytes"], e
            assert f["image_mb"] == recorded["unpacked_bytes"] / 1e6
        else:
            assert "image_unpacked_bytes" not in e and "image_mb" not in f, e
        # The resource monitor: podmeter's per-second CPU and working set in the runtime's window.
        assert e["cpu_percent"]["samples"] >= 1 and e["cpu_percent"]["max"] > 0, e
        assert e["ram_mib"]["min"] > 0, e
        first = "single" if name == "fib" else next(iter(tests))
        assert f[f"{first}_std_ms"] >= 0, f
    for c in b["comparisons"]:
        assert c["report"] > 0 and (c["here"] is None or c["here"] > 0), c
    # Ratios from k6 and podmeter's figures are measured (sizes only with images built; Flask's
    # later tests may have no answer in the tiny profile, see SLOW).
    measured = [c for c in b["comparisons"] if not c["figure"].startswith("image") and
                ((name, c["numerator"]) not in SLOW and (name, c["denominator"]) not in SLOW or
                 c["figure"] in ("single_avg_ms", "idle_mib", "load_mib"))]
    assert measured and all(c["here"] is not None for c in measured), measured


@pytest.mark.parametrize("name", sorted(SUITES))
def test_summary_md_has_each_scoreboard_with_its_columns(suites_run, name):
    summary, stdout, run_dir = suites_run
    md = open(os.path.join(run_dir, "summary.md")).read()
    assert "## Scoreboard" not in md  # the main benchmark's board is not a suite's
    head = f"## Suite {name}: {board(summary, name)['report']}"
    assert head in md and head in stdout
    section = md.split(head, 1)[1].split("\n## ", 1)[0]
    header = section.split("\n| |", 1)[1].split("\n", 1)[0]
    for runtime in SUITES[name][0]:
        assert f" {runtime} |" in header, header
    for row in REPORT_ROWS[name] + COMMON_ROWS:
        assert f"\n| {row} |" in section, row
    assert "| ratio | report | here |" in section
    for c in board(summary, name)["comparisons"]:
        assert f"| {c['what']}: {c['numerator']} / {c['denominator']} | {c['report']:.2f}× |" in section


def test_everything_is_removed(suites_run):
    _, stdout, _ = suites_run
    assert "removed the cgroups" in stdout
    assert not os.path.exists(os.path.join(v1_mounts()["memory"], "kubepods"))


def test_suite_refuses_its_own_apps_or_scenarios():
    lab = os.path.join(ROOT, "build", "lab", "podmeter-lab")
    for extra in (["--apps", "rust-api"], ["--scenarios", "load"]):
        res = subprocess.run([lab, "--repo", ROOT, "run", "--suite", "fib", *extra],
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 2 and "--suite chooses the apps and scenarios" in res.stderr
    res = subprocess.run([lab, "--repo", ROOT, "run", "--suite", "nope"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "nope" in res.stderr
