"""The Grafana dashboards and provisioning files without Prometheus or root: their structure
(tests/dashboards/dashboard_util.py), the PromQL lint of dashboards/lint (Prometheus' own parser:
every query parses, counters only under rate/increase/irate over $__rate_interval, the templated
data source, a unit and a title on every panel), and lab/report_panels.json naming real panels.
Each check is also run on a broken copy to show it can fail."""
import copy
import json
import os
import shutil
import subprocess

import pytest
import yaml

from dashboard_util import (DASHBOARD_DIR, DASHBOARD_FILES, DATASOURCE, ROOT, graph_panels,
                            load, structural_problems, variables)

LINT_DIR = os.path.join(DASHBOARD_DIR, "lint")


@pytest.fixture(scope="session")
def lint(tmp_path_factory):
    if shutil.which("go") is None:
        pytest.skip("go is not installed (scripts/setup)")
    binary = str(tmp_path_factory.mktemp("lint") / "dashboard-lint")
    res = subprocess.run(["go", "build", "-o", binary, "."], cwd=LINT_DIR, capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stderr

    def run(*paths):
        return subprocess.run([binary, *paths], capture_output=True, text=True, timeout=60)
    return run


def test_exactly_the_four_dashboards():
    found = sorted(f for f in os.listdir(DASHBOARD_DIR) if f.endswith(".json"))
    assert found == sorted(DASHBOARD_FILES)


@pytest.mark.parametrize("name", DASHBOARD_FILES)
def test_dashboard_structure(name):
    d = load(name)
    assert structural_problems(d) == []
    assert graph_panels(d), name


def test_uids_and_titles_are_unique():
    ds = [load(n) for n in DASHBOARD_FILES]
    assert len({d["uid"] for d in ds}) == len(ds)
    assert len({d["title"] for d in ds}) == len(ds)


@pytest.mark.parametrize("name", ["rust-vs-go-vs-django.json", "soak.json", "squeeze.json"])
def test_benchmark_dashboards_have_the_run_variables_and_runtime_legends(name):
    d = load(name)
    assert {"DS_PROMETHEUS", "namespace", "app", "run_id", "scenario"} <= set(variables(d))
    for p in graph_panels(d):
        for t in p["targets"]:
            assert t["legendFormat"].startswith("{{runtime}}"), (p["title"], t["refId"])


def test_structural_check_can_fail():
    d = load("rust-vs-go-vs-django.json")
    broken = copy.deepcopy(d)
    broken["schemaVersion"] = 38
    panels = graph_panels(broken)
    panels[1]["id"] = panels[0]["id"]
    panels[2]["gridPos"]["w"] = 30
    panels[3]["gridPos"] = dict(panels[4]["gridPos"])
    panels[5]["targets"][0]["expr"] += ' + on() vector($undefined_var)'
    del variables(broken)["DS_PROMETHEUS"]["query"]
    problems = "\n".join(structural_problems(broken))
    for expected in ("schemaVersion 38", "panel ids are not unique", "outside the 24-column",
                     "overlaps", "$undefined_var is used but not defined", "no DS_PROMETHEUS"):
        assert expected in problems, problems


def test_lint_passes_on_every_dashboard(lint):
    res = lint(*[os.path.join(DASHBOARD_DIR, n) for n in DASHBOARD_FILES])
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count(": ok,") == len(DASHBOARD_FILES), res.stdout


def test_lint_finds_each_kind_of_problem(lint, tmp_path):
    d = load("squeeze.json")
    panels = graph_panels(d)
    panels[0]["targets"][0]["expr"] = 'sum(podmeter_container_cpu_usage_seconds_total{namespace="$namespace"})'
    panels[1]["targets"][0]["expr"] = 'rate(podmeter_samples_total[5m])'
    panels[2]["targets"][0]["expr"] = 'sum by (le) (http_server_request_duration_seconds_bucket)'
    panels[3]["targets"][0]["expr"] = 'rate(x{a="$app"}[$__rate_interval]'
    panels[4]["datasource"] = {"type": "prometheus", "uid": "abc123"}
    panels[5]["targets"][0]["datasource"] = None
    del panels[6]["fieldConfig"]["defaults"]["unit"]
    panels[7]["title"] = ""
    panels[8]["targets"][0]["expr"] = ('max_over_time(rate(podmeter_samples_total'
                                       '[$__rate_interval])[5m:])')  # fine: a subquery of a rate
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(d))
    res = lint(str(path))
    assert res.returncode == 1
    out = res.stdout
    assert "counter podmeter_container_cpu_usage_seconds_total is used outside rate()" in out, out
    assert "rate() must take a plain selector over [$__rate_interval]" in out, out
    assert "counter http_server_request_duration_seconds_bucket is used outside" in out, out
    assert "does not parse" in out, out
    assert out.count("datasource must be") == 2, out
    assert "has no unit" in out, out
    assert "has no title" in out, out
    assert f'panel {panels[8]["id"]} ' not in out, out
    assert len(out.strip().splitlines()) == 8, out


def test_provisioning_files():
    with open(os.path.join(DASHBOARD_DIR, "provisioning", "datasource.yaml")) as f:
        ds = yaml.safe_load(f)
    assert ds["apiVersion"] == 1
    [prom] = ds["datasources"]
    assert prom["type"] == "prometheus" and prom["access"] == "proxy"
    assert prom["url"].startswith("http") and prom["name"] and prom["uid"]
    assert prom["jsonData"]["timeInterval"]
    with open(os.path.join(DASHBOARD_DIR, "provisioning", "dashboards.yaml")) as f:
        dash = yaml.safe_load(f)
    assert dash["apiVersion"] == 1
    [provider] = dash["providers"]
    assert provider["type"] == "file" and provider["name"] and provider["folder"]
    assert os.path.isabs(provider["options"]["path"])


def test_every_panel_and_target_uses_the_templated_datasource():
    # The lint checks it too; this keeps the rule when Go is missing.
    for name in DASHBOARD_FILES:
        for p in graph_panels(load(name)):
            assert p["datasource"] == DATASOURCE, (name, p["title"])
            assert p["fieldConfig"]["defaults"].get("unit"), (name, p["title"])
            for t in p["targets"]:
                assert t["datasource"] == DATASOURCE, (name, p["title"], t["refId"])


def test_report_panels_name_dashboard_panels():
    with open(os.path.join(ROOT, "lab", "report_panels.json")) as f:
        charts = json.load(f)["charts"]
    assert [c["id"] for c in charts] == ["throughput", "latency_p50", "latency_p95", "latency_p99",
                                         "errors", "cpu", "throttling", "working_set", "rss",
                                         "pods", "restarts"]
    for c in charts:
        titles = [p["title"] for p in graph_panels(load(c["dashboard"]))]
        assert c["panel"] in titles, c
