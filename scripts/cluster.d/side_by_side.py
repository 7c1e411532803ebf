#!/usr/bin/env python3
"""podmeter next to what users read today, on the same containers over the same seconds:
the kubelet's /stats/summary and /metrics/cadvisor, and metrics-server (kubectl top).

  scripts/cluster compare [--namespace NS] [--seconds 10]

CPU is in millicores: podmeter and cAdvisor as the rate of their usage counters over the
window; /stats/summary's usageNanoCores and kubectl top are the rates those tools computed over
their own last interval (cAdvisor housekeeping ~10-15 s; metrics-server's resolution 15 s), and
kubectl top rounds to whole millicores and MiB. Memory (working set, RSS) in MiB at the end of
the window. Needs podmeter's DaemonSet (k8s/base) running on the node.
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


def kubectl(*args):
    res = subprocess.run([CLUSTER, "kubectl", *args], capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"compare: kubectl {' '.join(args)}: {res.stderr.strip()}")
    return res.stdout


def parse_exposition(text, names):
    """{(name, namespace, pod, container): value} for the wanted metric names."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)", line)
        if not m or m.group(1) not in names:
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2)))
        key = (m.group(1), labels.get("namespace"), labels.get("pod"), labels.get("container"))
        out[key] = float(m.group(3))
    return out


PODMETER = ["podmeter_container_cpu_usage_seconds_total",
            "podmeter_container_memory_working_set_bytes", "podmeter_container_memory_rss_bytes"]
CADVISOR = ["container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
            "container_memory_rss"]


def samples_total(text):
    m = re.search(r"^podmeter_samples_total (\S+)$", text, re.M)
    return m and m.group(1)


def sample(podmeter_url):
    """podmeter's counters right after its next sample (it samples every second: a reading
    taken at a random moment is up to a second old), then cAdvisor's."""
    def fetch():
        with urllib.request.urlopen(podmeter_url, timeout=5) as r:
            return r.read().decode()
    first = samples_total(fetch())
    deadline = time.monotonic() + 5
    while samples_total(text := fetch()) == first and time.monotonic() < deadline:
        time.sleep(0.02)
    pm = parse_exposition(text, PODMETER)
    cad = parse_exposition(kubectl("get", "--raw", f"/api/v1/nodes/{NODE}/proxy/metrics/cadvisor"),
                           CADVISOR)
    return time.monotonic(), pm, cad


def main():
    parser = argparse.ArgumentParser(prog="scripts/cluster compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--namespace", help="only this namespace (default: all)")
    parser.add_argument("--seconds", type=float, default=10.0, help="the CPU rate's window")
    args = parser.parse_args()
    pods = json.loads(kubectl("get", "pods", "-A", "-l", "app.kubernetes.io/name=podmeter",
                              "-o", "json"))["items"]
    if not pods or not pods[0]["status"].get("podIP"):
        sys.exit("compare: no running podmeter pod (kubectl apply -k k8s/base)")
    url = f"http://{pods[0]['status']['podIP']}:10101/metrics"

    t0, pm0, cad0 = sample(url)
    time.sleep(args.seconds)
    t1, pm1, cad1 = sample(url)
    summary = json.loads(kubectl("get", "--raw", f"/api/v1/nodes/{NODE}/proxy/stats/summary"))
    top = {}
    for line in kubectl("top", "pods", "-A", "--containers", "--no-headers").splitlines():
        ns, pod, container, cpu, mem = line.split()
        top[(ns, pod, container)] = (int(cpu.rstrip("m")), int(mem.rstrip("Mi")))

    def rate(a, b, key):
        return (b[key] - a[key]) / (t1 - t0) * 1000 if key in a and key in b else None

    def fmt(value, spec):
        width = int(re.match(r"\d+", spec).group())
        return "-".rjust(width) if value is None else format(value, spec)

    print(f"{'namespace/pod/container':<52}{'CPU millicores':^36}{'working set MiB':^30}"
          f"{'RSS MiB':^20}")
    print(f"{'':<52}{'podmeter':>9}{'cAdv':>9}{'summ':>9}{'top':>9}{'podmeter':>9}{'cAdv':>7}"
          f"{'summ':>7}{'top':>7}{'podmeter':>10}{'summ':>10}")
    for p in sorted(summary["pods"], key=lambda p: (p["podRef"]["namespace"], p["podRef"]["name"])):
        ns, pod = p["podRef"]["namespace"], p["podRef"]["name"]
        if args.namespace and ns != args.namespace:
            continue
        for c in p["containers"]:
            name = c["name"]
            k = lambda metric: (metric, ns, pod, name)  # noqa: E731
            mib = lambda v: None if v is None else v / 2**20  # noqa: E731
            s_cpu = c.get("cpu", {}).get("usageNanoCores")
            mem = c.get("memory", {})
            t_cpu, t_mem = top.get((ns, pod, name), (None, None))
            print(f"{ns + '/' + pod + '/' + name:<52}"
                  f"{fmt(rate(pm0, pm1, k(PODMETER[0])), '9.1f')}"
                  f"{fmt(rate(cad0, cad1, k(CADVISOR[0])), '9.1f')}"
                  f"{fmt(None if s_cpu is None else s_cpu / 1e6, '9.1f')}{fmt(t_cpu, '9d')}"
                  f"{fmt(mib(pm1.get(k(PODMETER[1]))), '9.1f')}"
                  f"{fmt(mib(cad1.get(k(CADVISOR[1]))), '7.1f')}"
                  f"{fmt(mib(mem.get('workingSetBytes')), '7.1f')}{fmt(t_mem, '7d')}"
                  f"{fmt(mib(pm1.get(k(PODMETER[2]))), '10.1f')}"
                  f"{fmt(mib(mem.get('rssBytes')), '10.1f')}")


if __name__ == "__main__":
    main()
