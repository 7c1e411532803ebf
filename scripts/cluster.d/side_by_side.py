#!/usr/bin/env python3
"""podmeter next to what users read today, on the same containers over the same seconds:
the kubelet's /stats/summary and /metrics/cadvisor, and metrics-server (kubectl top).

  scripts/cluster compare [--namespace NS] [--seconds 20] [--json FILE]

CPU in millicores. `podmeter` is the rate of its usage counter over the window (read right after
each of its 1 s samples). cAdvisor refreshes its counters only at housekeeping (every 10-15 s) and
stamps each value with that moment: `cAdv` is its rate between the first and the last
housekeeping inside the window, by its own timestamps ("-" when fewer than two fell inside), and
`pm@cAdv` podmeter's counter over exactly that span (interpolated between its samples; the window
grows by up to 30 s until two housekeepings fall inside for every container): the same
cgroup counter over the same seconds, so the two agree to a few per mille. /stats/summary's
usageNanoCores is cAdvisor's rate over its last housekeeping interval, `kubectl top`
metrics-server's over its own older window (15 s), rounded to whole millicores. Memory (working
set, RSS) in MiB at the end of the window (cAdvisor's and /stats/summary's as of their last
housekeeping, `kubectl top` rounded to whole MiB). `lag s`: how old cAdvisor's newest values are
at the end. --json writes every figure (millicores, bytes, seconds) per container to FILE.
Needs podmeter's DaemonSet (k8s/base) running on the node.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

CLUSTER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cluster")
NODE = "podmeter-node"
PODMETER = ["podmeter_container_cpu_usage_seconds_total",
            "podmeter_container_memory_working_set_bytes", "podmeter_container_memory_rss_bytes"]
CADVISOR = ["container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
            "container_memory_rss"]


def kubectl(*args):
    res = subprocess.run([CLUSTER, "kubectl", *args], capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"compare: kubectl {' '.join(args)}: {res.stderr.strip()}")
    return res.stdout


def parse_exposition(text, names):
    """{(name, namespace, pod, container): (value, timestamp in unix seconds or None)}."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)(?: (-?\d+))?$", line)
        if not m or m.group(1) not in names:
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2)))
        key = (m.group(1), labels.get("namespace"), labels.get("pod"), labels.get("container"))
        out[key] = (float(m.group(3)), int(m.group(4)) / 1000 if m.group(4) else None)
    return out


def samples_total(text):
    m = re.search(r"^podmeter_samples_total (\S+)$", text, re.M)
    return m and m.group(1)


def podmeter_after_next_sample(url):
    """podmeter's series right after its next sample (a reading taken at a random moment is up
    to one interval old), with the wall-clock time of that reading."""
    def fetch():
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.read().decode()
    first = samples_total(fetch())
    deadline = time.monotonic() + 5
    while samples_total(text := fetch()) == first and time.monotonic() < deadline:
        time.sleep(0.02)
    return time.time(), parse_exposition(text, PODMETER)


# cAdvisor's housekeeping in the kubelet: every 10 s, stretched up to 15 s for idle containers.
MAX_HOUSEKEEPING_SECONDS = 15


def record_window(url, seconds, namespace):
    """Readings over the window: podmeter's after each of its samples ([(time, series)]) and
    cAdvisor's distinct housekeeping values ({key: {timestamp: value}}). The window grows (by up
    to two housekeeping intervals) until every container of `namespace` (all: None) has two
    cAdvisor housekeepings inside it."""
    pm, cad = [], {}
    start = time.monotonic()
    end, latest = start + seconds, start + seconds + 2 * MAX_HOUSEKEEPING_SECONDS
    while True:
        pm.append(podmeter_after_next_sample(url))
        raw = kubectl("get", "--raw", f"/api/v1/nodes/{NODE}/proxy/metrics/cadvisor")
        for key, (value, ts) in parse_exposition(raw, CADVISOR).items():
            cad.setdefault(key, {})[ts if ts is not None else pm[-1][0]] = value
        now = time.monotonic()
        short = [k for k, points in cad.items() if k[0] == CADVISOR[0] and k[3]
                 and namespace in (None, k[1]) and sum(t >= pm[0][0] for t in points) < 2]
        if now >= latest or (now >= end and not short):
            return pm, cad


def interpolate(points, t):
    """The counter at time t, linear between the readings around it; None outside them."""
    for (t0, v0), (t1, v1) in zip(points, points[1:]):
        if t0 <= t <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return None


def cpu_figures(pm_points, cad_points):
    """podmeter's rate over the window, cAdvisor's over its housekeepings inside podmeter's
    readings, podmeter's over that same span, and the span (millicores, seconds)."""
    out = {"podmeter": None, "cadvisor": None, "podmeter_over_cadvisor_span": None,
           "cadvisor_span_seconds": None}
    if len(pm_points) >= 2 and pm_points[-1][0] > pm_points[0][0]:
        (t0, v0), (t1, v1) = pm_points[0], pm_points[-1]
        out["podmeter"] = (v1 - v0) / (t1 - t0) * 1000
    inside = sorted((ts, v) for ts, v in cad_points.items()
                    if pm_points and pm_points[0][0] <= ts <= pm_points[-1][0])
    if len(inside) >= 2 and inside[-1][0] > inside[0][0]:
        (c0, w0), (c1, w1) = inside[0], inside[-1]
        span = c1 - c0
        out["cadvisor"] = (w1 - w0) / span * 1000
        out["podmeter_over_cadvisor_span"] = (
            (interpolate(pm_points, c1) - interpolate(pm_points, c0)) / span * 1000)
        out["cadvisor_span_seconds"] = span
    return out


def kubectl_top():
    """{(namespace, pod, container): (millicores, bytes)}; kubectl top rounds both."""
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    top = {}
    for line in kubectl("top", "pods", "-A", "--containers", "--no-headers").splitlines():
        ns, pod, container, cpu, mem = line.split()
        m = re.match(r"(\d+)(\w*)", mem)
        top[(ns, pod, container)] = (int(cpu.rstrip("m")), int(m.group(1)) * units.get(m.group(2), 1))
    return top


def rows(summary, pm, cad, top, namespace):
    """One dict per container of /stats/summary (in namespace, if given)."""
    end = pm[-1][0]
    out = []
    for p in sorted(summary["pods"], key=lambda p: (p["podRef"]["namespace"], p["podRef"]["name"])):
        ns, pod = p["podRef"]["namespace"], p["podRef"]["name"]
        if namespace and ns != namespace:
            continue
        for c in p["containers"]:
            k = lambda i, names: (names[i], ns, pod, c["name"])  # noqa: E731
            pm_cpu = [(t, s[k(0, PODMETER)][0]) for t, s in pm if k(0, PODMETER) in s]
            cad_cpu = cad.get(k(0, CADVISOR), {})
            last = lambda i: max(cad.get(k(i, CADVISOR), {}).items(), default=(None, None))  # noqa: E731
            mem = c.get("memory", {})
            t_cpu, t_mem = top.get((ns, pod, c["name"]), (None, None))
            row = {"namespace": ns, "pod": pod, "container": c["name"],
                   "cpu_millicores": {**cpu_figures(pm_cpu, cad_cpu), "summary": None if (
                       n := c.get("cpu", {}).get("usageNanoCores")) is None else n / 1e6,
                       "top": t_cpu},
                   "working_set_bytes": {"podmeter": pm[-1][1].get(k(1, PODMETER), (None,))[0],
                                         "cadvisor": last(1)[1],
                                         "summary": mem.get("workingSetBytes"), "top": t_mem},
                   "rss_bytes": {"podmeter": pm[-1][1].get(k(2, PODMETER), (None,))[0],
                                 "cadvisor": last(2)[1], "summary": mem.get("rssBytes")},
                   "cadvisor_lag_seconds": None if last(0)[0] is None else end - last(0)[0]}
            out.append(row)
    return out


def print_table(table):
    def fmt(value, width, digits=1, scale=1):
        return "-".rjust(width) if value is None else f"{value / scale:{width}.{digits}f}"
    mib = 2**20
    print(f"{'namespace/pod/container':<46}{'CPU millicores':^45}{'working set MiB':^32}"
          f"{'RSS MiB':^24}{'lag s':>6}")
    print(f"{'':<46}{'podmeter':>9}{'pm@cAdv':>9}{'cAdv':>9}{'summ':>9}{'top':>9}"
          f"{'podmeter':>9}{'cAdv':>8}{'summ':>8}{'top':>7}{'podmeter':>9}{'cAdv':>8}{'summ':>7}"
          f"{'':>6}")
    for r in table:
        cpu, ws, rss = r["cpu_millicores"], r["working_set_bytes"], r["rss_bytes"]
        print(f"{r['namespace'] + '/' + r['pod'] + '/' + r['container']:<46}"
              f"{fmt(cpu['podmeter'], 9)}{fmt(cpu['podmeter_over_cadvisor_span'], 9)}"
              f"{fmt(cpu['cadvisor'], 9)}{fmt(cpu['summary'], 9)}{fmt(cpu['top'], 9, 0)}"
              f"{fmt(ws['podmeter'], 9, 1, mib)}{fmt(ws['cadvisor'], 8, 1, mib)}"
              f"{fmt(ws['summary'], 8, 1, mib)}{fmt(ws['top'], 7, 0, mib)}"
              f"{fmt(rss['podmeter'], 9, 1, mib)}{fmt(rss['cadvisor'], 8, 1, mib)}"
              f"{fmt(rss['summary'], 7, 1, mib)}{fmt(r['cadvisor_lag_seconds'], 6)}")


def main():
    parser = argparse.ArgumentParser(prog="scripts/cluster compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--namespace", help="only this namespace (default: all)")
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="the window; it grows (by up to 30 s) until two of cAdvisor's "
                             "10-15 s housekeepings fall inside for every container")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    args = parser.parse_args()
    pods = json.loads(kubectl("get", "pods", "-A", "-l", "app.kubernetes.io/name=podmeter",
                              "-o", "json"))["items"]
    if not pods or not pods[0]["status"].get("podIP"):
        sys.exit("compare: no running podmeter pod (kubectl apply -k k8s/base)")
    url = f"http://{pods[0]['status']['podIP']}:10101/metrics"

    pm, cad = record_window(url, args.seconds, args.namespace)
    summary = json.loads(kubectl("get", "--raw", f"/api/v1/nodes/{NODE}/proxy/stats/summary"))
    table = rows(summary, pm, cad, kubectl_top(), args.namespace)
    print_table(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(table, f, indent=1)


if __name__ == "__main__":
    main()
