"""Reading podmeter's Grafana dashboards (dashboards/*.json): their panels, their variables, a
structural check, and the queries with Grafana's variables substituted the way lab/report.cc
does for report.html."""
import json
import os
import re

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DASHBOARD_DIR = os.path.join(ROOT, "dashboards")
DASHBOARD_FILES = ["rust-vs-go-vs-django.json", "soak.json", "squeeze.json", "podmeter.json"]
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
# Grafana's own variables a query may use without defining them.
BUILTIN_VARIABLES = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s",
                     "__all", "__from", "__to"}
VARIABLE_REF = re.compile(r"\$\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def load(name):
    with open(os.path.join(DASHBOARD_DIR, name)) as f:
        return json.load(f)


def all_panels(dashboard):
    """Every panel, a collapsed row's nested panels included, rows too."""
    for p in dashboard.get("panels", []):
        yield p
        yield from p.get("panels", [])


def graph_panels(dashboard):
    return [p for p in all_panels(dashboard) if p.get("type") != "row"]


def variables(dashboard):
    return {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}


def used_variables(text):
    """Names of the Grafana variables `text` refers to ($x, ${x}, ${x:regex}); not "$1"."""
    return {a or b for a, b in VARIABLE_REF.findall(text)}


def structural_problems(d):
    """What is wrong with one dashboard's structure (empty when nothing)."""
    problems = []
    for field in ("title", "uid", "panels", "templating", "time", "schemaVersion", "tags"):
        if field not in d:
            problems.append(f"no {field}")
    if d.get("schemaVersion") != 39:
        problems.append(f"schemaVersion {d.get('schemaVersion')}, not 39")
    if "podmeter" not in d.get("tags", []):
        problems.append("not tagged podmeter (the dashboards' links list them by that tag)")
    vars_ = variables(d)
    ds = vars_.get("DS_PROMETHEUS")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problems.append("no DS_PROMETHEUS variable of type datasource, query prometheus")
    for name, v in vars_.items():
        if v.get("type") == "query":
            if v.get("datasource") != DATASOURCE:
                problems.append(f"variable {name}: datasource is not ${{DS_PROMETHEUS}}")
            q = v.get("query")
            if not (isinstance(q, dict) and q.get("query")) and not (isinstance(q, str) and q):
                problems.append(f"variable {name}: no query")
        if v.get("includeAll") and not v.get("allValue"):
            problems.append(f"variable {name}: includeAll without an allValue (regex)")
    ids = []
    boxes = []
    titles = []
    for p in all_panels(d):
        pid = p.get("id")
        where = f"panel {pid} {p.get('title')!r}"
        if not isinstance(pid, int):
            problems.append(f"{where}: id is not an integer")
        ids.append(pid)
        g = p.get("gridPos", {})
        if not all(isinstance(g.get(k), int) for k in "hwxy"):
            problems.append(f"{where}: gridPos needs integer h, w, x, y")
            continue
        if g["w"] < 1 or g["h"] < 1 or g["x"] < 0 or g["y"] < 0 or g["x"] + g["w"] > 24:
            problems.append(f"{where}: gridPos {g} is outside the 24-column grid")
        for other_where, o in boxes:
            if (g["x"] < o["x"] + o["w"] and o["x"] < g["x"] + g["w"] and
                    g["y"] < o["y"] + o["h"] and o["y"] < g["y"] + g["h"]):
                problems.append(f"{where}: overlaps {other_where}")
        boxes.append((where, g))
        if not p.get("type"):
            problems.append(f"{where}: no type")
        if p.get("type") == "row":
            continue
        titles.append(p.get("title"))
        refs = [t.get("refId") for t in p.get("targets", [])]
        if not refs or len(set(refs)) != len(refs) or None in refs:
            problems.append(f"{where}: targets need distinct refIds")
        for t in p.get("targets", []):
            if not t.get("expr"):
                problems.append(f"{where}: target {t.get('refId')} has no expr")
    if len(set(ids)) != len(ids):
        problems.append(f"panel ids are not unique: {sorted(i for i in ids if ids.count(i) > 1)}")
    if len(set(titles)) != len(titles):
        problems.append("panel titles are not unique (lab/report_panels.json names panels by title)")
    # Every variable used anywhere (queries, titles, legends, variable queries) is defined.
    text = json.dumps({k: v for k, v in d.items() if k != "templating"})
    text += json.dumps([v.get("query") for v in vars_.values()])
    for name in sorted(used_variables(text) - set(vars_) - BUILTIN_VARIABLES):
        problems.append(f"${name} is used but not defined")
    return problems


def variable_values(dashboard, given, rate_interval):
    """Values for every variable of `dashboard`: `given` first (namespace, app, run_id,
    scenario), then an includeAll variable's allValue, else its current value; the rate interval
    as given. The same rule as lab/report.cc."""
    values = {}
    for name, v in variables(dashboard).items():
        if name in given:
            values[name] = given[name]
        elif v.get("includeAll") and v.get("allValue"):
            values[name] = v["allValue"]
        else:
            cur = v.get("current", {}).get("value")
            values[name] = cur[0] if isinstance(cur, list) and cur else (cur or "")
    values["__rate_interval"] = rate_interval
    return values


def substitute(expr, values):
    def repl(m):
        name = m.group(1) or m.group(2)
        return values.get(name, m.group(0))
    return VARIABLE_REF.sub(repl, expr)
