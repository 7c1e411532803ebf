#!/usr/bin/env python3
"""podmeter's memory and /metrics latency on the synthetic node (docs/performance.md).

    bench/serve_bench.py [--podmeter build/exporter/podmeter] [--pods 110]

Writes the fixture tree of `--pods` pods (build/bench/podmeter_bench --write-tree; a fixture on
disk, no cgroups made, no host lock needed), runs podmeter on it on 127.0.0.1 (1 s samples, no
pod source), and prints its memory (/proc/<pid>/status RssAnon, RssFile, VmRSS, VmHWM, Threads;
smaps_rollup's Anonymous) after each phase:

  steady   --steady-seconds (20) of 4 scrapers (2 plain, 2 gzip) each every 0.25 s;
  many     --many-clients (64) clients at once, each --many-scrapes (15) scrapes in a row on new
           connections (960: more than civetweb's 768 workers had, so each would have served);
  latency  build/bench/podmeter_scrape: --count (2000) scrapes one at a time, plain and gzip
           alternating, at most --latency-seconds (30); its p50/p90/p99/max.

Every loop is bounded in count and time; podmeter is stopped at the end, also on an error."""
import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory(pid):
    """KiB figures of /proc/<pid>/status and smaps_rollup."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("RssAnon", "RssFile", "VmRSS", "VmHWM", "Threads"):
                out[key] = int(rest.split()[0])
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key == "Anonymous":
                out["Anonymous"] = int(rest.split()[0])
    return out


def scrape(port, gzip, deadline):
    if time.monotonic() > deadline:
        return False
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                                 headers={"Accept-Encoding": "gzip"} if gzip else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status == 200 and len(r.read()) > 0


def run_clients(port, clients, per_client, pause, seconds):
    """`clients` threads, each `per_client` scrapes `pause` s apart (at most `seconds`); failures."""
    deadline = time.monotonic() + seconds
    failures = []

    def client(i):
        for _ in range(per_client):
            try:
                if not scrape(port, i % 2 == 1, deadline):
                    return
            except OSError as e:
                failures.append(repr(e))
            time.sleep(pause)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 30)
    return failures


def fmt(m):
    mib = lambda k: f"{m[k] / 1024:.1f} MiB"
    return (f"RssAnon {mib('RssAnon')}  RssFile {mib('RssFile')}  VmRSS {mib('VmRSS')}  "
            f"VmHWM {mib('VmHWM')}  smaps Anonymous {mib('Anonymous')}  threads {m['Threads']}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--podmeter", default=os.path.join(REPO, "build/exporter/podmeter"))
    p.add_argument("--bench", default=os.path.join(REPO, "build/bench/podmeter_bench"))
    p.add_argument("--client", default=os.path.join(REPO, "build/bench/podmeter_scrape"))
    p.add_argument("--pods", type=int, default=110)
    p.add_argument("--tree", help="an existing tree (default: written into a temporary dir)")
    p.add_argument("--steady-seconds", type=float, default=20)
    p.add_argument("--many-clients", type=int, default=64)
    p.add_argument("--many-scrapes", type=int, default=15)
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--latency-seconds", type=float, default=30)
    args = p.parse_args()
    tree = args.tree or f"/tmp/podmeter-serve-bench-{os.getpid()}"
    if not args.tree:
        subprocess.run([args.bench, "--write-tree", tree, str(args.pods)], check=True)
    port = free_port()
    proc = subprocess.Popen(
        [args.podmeter, "--listen", f"127.0.0.1:{port}", "--interval", "1",
         "--cgroup-root", os.path.join(tree, "sys/fs/cgroup"), "--proc-root",
         os.path.join(tree, "proc"), "--pod-source", "none"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if scrape(port, False, deadline):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"podmeter did not answer (exit {proc.poll()})")
                time.sleep(0.1)
        time.sleep(2)
        print(f"# {args.podmeter} at {args.pods} pods, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
              f"load {os.getloadavg()[0]:.2f}")
        print(f"started       {fmt(memory(proc.pid))}")
        per = int(args.steady_seconds / 0.25)
        f = run_clients(port, 4, per, 0.25, args.steady_seconds + 10)
        print(f"steady        {fmt(memory(proc.pid))}" + (f"  failures {len(f)}" if f else ""))
        f = run_clients(port, args.many_clients, args.many_scrapes, 0, 120)
        print(f"many          {fmt(memory(proc.pid))}" + (f"  failures {len(f)}" if f else ""))
        out = subprocess.run([args.client, str(port), str(args.count), str(args.latency_seconds)],
                             capture_output=True, text=True, timeout=args.latency_seconds + 30)
        print(f"latency       {fmt(memory(proc.pid))}")
        print(out.stdout.rstrip())
        return out.returncode
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if not args.tree:
            shutil.rmtree(tree, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
