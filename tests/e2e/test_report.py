"""report.html of the session's lab run (conftest lab_tiny_run: the tiny profile, every
scenario): self-contained (no outside resource), every chart with data but the two a sub-second
scenario cannot have, drawn in headless Chromium (the page's own count in its title, and the
runtimes' line colours on the screenshot), and `podmeter-lab report --run` regenerating it from
the run's Prometheus TSDB with a Prometheus that scrapes nothing."""
import json
import os
import re
import shutil
import subprocess

import pytest

from harness import ROOT

LAB = os.environ.get("PODMETER_LAB", os.path.join(ROOT, "build", "lab", "podmeter-lab"))
CHROMIUM = shutil.which("chromium")
# The charts come from dashboard panels (lab/report_panels.json).
CHARTS = json.load(open(os.path.join(ROOT, "lab", "report_panels.json")))["charts"]
PANELS = len(CHARTS)
# cold-start only starts pods (no k6): its section leaves out the k6 charts.
K6_CHARTS = {c["id"] for c in CHARTS if c.get("needs_k6")}
# In the tiny profile compute-scaling lasts under a second (one k6 push): no rate, so no
# throughput and no error share (docs/lab.md). Every other chart of every scenario has data.
WITHOUT_DATA = {("compute-scaling", "throughput"), ("compute-scaling", "errors")}
# The page's series colours (lab/report/report.html.tmpl).
COLOURS = {"rust": (0xce, 0x42, 0x2b), "go": (0x00, 0xad, 0xd8), "django": (0x2b, 0x8a, 0x3e)}


@pytest.fixture(scope="module")
def run_dir(lab_tiny_run):
    _, stdout, run_dir = lab_tiny_run
    assert "report.html" in stdout, stdout[-2000:]
    return run_dir


def chart_counts(sections):
    """(charts with data, charts without) as the page counts them."""
    with_data = sum(1 for sec in sections for c in sec["charts"]
                    if any(any(v is not None for v in s["values"]) for s in c["series"]))
    return with_data, sum(len(sec["charts"]) for sec in sections) - with_data


def chromium(args, report, tmp_path):
    """Headless Chromium on file://report with every host unresolvable (offline)."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (scripts/setup)")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND",
           "--user-data-dir=" + str(tmp_path / "chromium-profile"), "--window-size=1400,3000",
           *args, "file://" + report]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def embedded_sections(html):
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    assert m, "no report-data script in the page"
    return json.loads(m.group(1))


def page_title(report, tmp_path):
    res = chromium(["--dump-dom"], report, tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    m = re.search(r"<title>(.*?)</title>", res.stdout)
    assert m, res.stdout[:2000]
    return m.group(1)


def test_report_is_self_contained(run_dir):
    html = open(os.path.join(run_dir, "report.html")).read()
    # No element that loads anything: no <script src>, <link>, <img>, CSS url() or @import.
    assert not re.search(r"<(script|img|iframe)[^>]*\ssrc\s*=", html, re.I)
    assert not re.search(r"<link\b", html, re.I)
    assert not re.search(r"url\(|@import", html, re.I)
    # The only address in the page is the one in uPlot's licence comment.
    addresses = set(re.findall(r"https?://[^\s\"'<>)]*", html))
    assert addresses <= {"https://github.com/leeoniya/uPlot"}, addresses
    assert "uPlot" in html and ".uplot" in html  # the library's JS and CSS, inlined


def test_every_chart_has_data(run_dir):
    sections = embedded_sections(open(os.path.join(run_dir, "report.html")).read())
    summary = json.load(open(os.path.join(run_dir, "summary.json")))
    assert [s["scenario"] for s in sections] == [s["scenario"] for s in summary["scenarios"]]
    assert {"cold-start", "compute-scaling", "load", "squeeze", "pod-kill"} <= {
        s["scenario"] for s in sections}
    for sc, sec in zip(summary["scenarios"], sections):
        assert sc["start"] < sc["end"] and sec["start"] == sc["start"], (sc, sec["start"])
        ids = [c["id"] for c in sec["charts"]]
        if "k6" in sc:
            assert len(ids) == PANELS, (sec["scenario"], ids)
        else:
            assert sec["scenario"] == "cold-start" and K6_CHARTS and not K6_CHARTS & set(ids), ids
            assert len(ids) == PANELS - len(K6_CHARTS), ids
        for chart in sec["charts"]:
            with_data = [s for s in chart["series"] if any(v is not None for v in s["values"])]
            expect_data = (sec["scenario"], chart["id"]) not in WITHOUT_DATA
            assert bool(with_data) == expect_data, (sec["scenario"], chart["id"])
            assert len(chart["x"]) <= 1001
        charts = {c["id"]: c for c in sec["charts"]}
        # podmeter sees all three runtimes in every scenario; the CPU chart has their limits.
        for cid in ("cpu", "working_set", "rss", "restarts"):
            runtimes = {s["runtime"] for s in charts[cid]["series"] if not s["dash"]}
            assert runtimes == {"rust", "go", "django"}, (sec["scenario"], cid, runtimes)
        assert {s["label"] for s in charts["cpu"]["series"] if s["dash"]} == {
            "rust limit", "go limit", "django limit"}
        assert charts["cpu"]["unit"] == "millicores"
        assert "throughput" not in charts or charts["throughput"]["unit"] == "req/s"
    by_name = {sec["scenario"]: {c["id"]: c for c in sec["charts"]} for sec in sections}
    assert {s["runtime"] for s in by_name["load"]["throughput"]["series"]} == {
        "rust", "go", "django"}
    # The squeeze's 50m limit shows in its window.
    limits = [v for s in by_name["squeeze"]["cpu"]["series"] if s["dash"] for v in s["values"] if v]
    assert min(limits) == pytest.approx(50, abs=1)
    # pod-kill restarts each runtime's container once: the kubelet's count reaches 1.
    for s in by_name["pod-kill"]["restarts"]["series"]:
        if not s["dash"]:
            assert max(v for v in s["values"] if v is not None) >= 1, s


def test_chromium_draws_every_chart(run_dir, tmp_path):
    from PIL import Image

    report = os.path.join(run_dir, "report.html")
    with_data, without = chart_counts(embedded_sections(open(report).read()))
    assert without == len(WITHOUT_DATA), without
    title = page_title(report, tmp_path)
    assert title == f"report ok {with_data} charts, {without} without data", title

    png = str(tmp_path / "report.png")
    res = chromium(["--screenshot=" + png], report, tmp_path)
    assert res.returncode == 0 and os.path.exists(png), res.stderr[-2000:]
    shutil.copy(png, os.path.join(run_dir, "report-screenshot.png"))  # for a human to look at
    img = Image.open(png).convert("RGB")
    assert img.size == (1400, 3000)
    counts = {name: 0 for name in COLOURS}
    for r, g, b in img.getdata():
        for name, (cr, cg, cb) in COLOURS.items():
            if abs(r - cr) < 40 and abs(g - cg) < 40 and abs(b - cb) < 40:
                counts[name] += 1
    # Every runtime's lines are drawn (a blank chart box would leave only greys).
    for name, n in counts.items():
        assert n > 500, counts


def test_report_subcommand_regenerates_the_page(run_dir, tmp_path):
    report = os.path.join(run_dir, "report.html")
    before = embedded_sections(open(report).read())
    os.remove(report)
    res = subprocess.run([LAB, "--repo", ROOT, "report", "--run", run_dir],
                         capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"{chart_counts(before)[0]} charts with data" in res.stdout, res.stdout
    assert embedded_sections(open(report).read()) == before
    # Its Prometheus scraped nothing (the run's prometheus.yml scrapes 127.0.0.1:10101, where
    # another run's podmeter may be listening).
    config = open(os.path.join(run_dir, "logs", "prometheus-report.yml")).read()
    assert "scrape_configs" not in config and "10101" not in config, config
    # The Prometheus it started on the run's TSDB is gone.
    ps = subprocess.run(["pgrep", "-f", os.path.join(run_dir, "prometheus")],
                        capture_output=True, text=True)
    assert ps.stdout.strip() == "", ps.stdout
    assert page_title(report, tmp_path).startswith("report ok")


def test_report_subcommand_needs_a_finished_run(tmp_path):
    res = subprocess.run([LAB, "--repo", ROOT, "report", "--run", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1
    assert "not a finished lab run" in res.stderr, res.stderr
