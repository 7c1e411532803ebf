"""Every query of every Grafana dashboard (dashboards/*.json), variables substituted, returns at
least one series from a real Prometheus filled by a lab run (the session's tiny run): a
Prometheus of our own on the run's TSDB, without scrape targets, on a free loopback port,
query_range over the run's window.

Variables: namespace and app (every app, as a regex) from the run's pods.json, run_id from
summary.json, the others (scenario, route, job, instance, slope_window) their allValue or
current value (tests/dashboards/dashboard_util.py: the rule lab/report.cc follows too).

No exceptions: counters that only move on rare events (OOM kills, relay or pod-source errors)
are exported at 0 from the start, and the queries keep those zero series."""
import json
import os
import sys

import pytest


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dashboards"))

from dashboard_util import (DASHBOARD_FILES, graph_panels, load, substitute,  # noqa: E402
                            variable_values)


@pytest.fixture(scope="module")
def prometheus(lab_tiny_run, run_prometheus):
    """A Prometheus on the run's TSDB: (RunPrometheus, summary, run dir)."""
    summary, _, run_dir = lab_tiny_run
    return run_prometheus, summary, run_dir


def run_variables(summary, run_dir):
    pods = json.load(open(os.path.join(run_dir, "pods.json")))["items"]
    labels = [p["metadata"].get("labels", {}) for p in pods]
    apps = sorted({lb.get("app.kubernetes.io/name") or lb.get("app") for lb in labels} - {None})
    assert apps, "no app labels in pods.json"
    return {"namespace": pods[0]["metadata"]["namespace"], "app": "|".join(apps),
            "run_id": summary["run_id"]}


def empty_queries(prom, summary, run_dir):
    """(dashboard, panel, refId, query) of every target whose query_range has no series."""
    windows = [(s["start"], s["end"]) for s in summary["scenarios"] if "start" in s]
    start, end = int(min(w[0] for w in windows)) - 5, int(max(w[1] for w in windows)) + 5
    given = run_variables(summary, run_dir)
    empty = []
    checked = 0
    for name in DASHBOARD_FILES:
        d = load(name)
        values = variable_values(d, given, "5s")
        for p in graph_panels(d):
            for t in p["targets"]:
                q = substitute(t["expr"], values)
                assert "$" not in q.replace('"$1"', ""), (name, p["title"], q)
                result = prom.query_range(q, start, end)
                checked += 1
                series = [r for r in result
                          if any(v[1] not in ("NaN", "+Inf", "-Inf") for v in r["values"])]
                if not series:
                    empty.append((name, p["title"], t["refId"], q))
    return checked, empty


def test_every_dashboard_query_returns_series(prometheus):
    prom, summary, run_dir = prometheus
    checked, empty = empty_queries(prom, summary, run_dir)
    assert checked >= 60, checked
    assert empty == [], "\n".join(map(str, empty))


def test_a_query_of_another_run_returns_nothing(prometheus):
    """The check can fail: the same queries with a run id that is not in the TSDB leave every
    k6 panel empty."""
    prom, summary, run_dir = prometheus
    _, empty = empty_queries(prom, dict(summary, run_id="no-such-run"), run_dir)
    assert any(t == "Throughput (k6)" for _, t, _, _ in empty), empty
    assert not any("podmeter" in t or "CPU" in t for _, t, _, _ in empty
                   if "k6" not in t), empty
