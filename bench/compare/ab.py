#!/usr/bin/env python3
"""bench/compare/ab.py: two podmeter builds at once on one synthetic node, CPU side by side.

On a shared machine the CPU of one run moves with what else runs, so two builds measured one
after the other (compare.py) differ by more than a small change. Here both run together on the
same synthetic node (compare.py's: real v1 cgroups, 9 sleeping processes per pod), each in a
cpuacct cgroup of its own, and the CPU of each is read every `--window` seconds, `--rounds`
times: each round's ratio B/A sees the same machine. Prints each round and the median ratio.
Root, cgroup v1, the host lock (as compare.py); everything it made is removed.

  bench/compare/ab.py OLD_PODMETER NEW_PODMETER [--pods 110] [--rounds 6] [--window 10]
  bench/compare/ab.py build/exporter/podmeter build/exporter/podmeter --b-args="--kept-open-files 0"

Each round also prints each one's memory cgroup charge beyond file pages and its kernel part (as
compare.py's table), so a flag that trades CPU for memory shows both sides.
"""
import argparse
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import compare  # noqa: E402  (bench/compare/compare.py, next to this file)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("a", help="podmeter binary A (the baseline)")
    p.add_argument("b", help="podmeter binary B")
    p.add_argument("--pods", type=int, default=110)
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--window", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=5.0)
    p.add_argument("--a-args", default="", help="more podmeter flags for A (one string)")
    p.add_argument("--b-args", default="", help="more podmeter flags for B (one string)")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("ab: needs root (real cgroups)")
    if not (1 <= args.pods <= 500 and 1 <= args.rounds <= 60 and 1 <= args.window <= 120):
        p.error("--pods 1..500, --rounds 1..60, --window 1..120 s")
    for path in (args.a, args.b):
        if not os.access(path, os.X_OK):
            sys.exit(f"ab: {path} is not an executable")
    old = {s: signal.signal(s, compare._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    workdir = tempfile.mkdtemp(prefix="podmeter-ab-")
    sleep_seconds = args.warmup + args.rounds * args.window + 300
    lock = compare.take_lock()
    try:
        with compare.SyntheticNode(args.pods, workdir, sleep_seconds) as node:
            print(f"ab: node of {args.pods} pods / {node.processes()} processes up; "
                  f"{compare.machine_line()}", flush=True)
            run(node, args, workdir)
    except compare.Interrupted as e:
        sys.exit(f"ab: interrupted ({e}); everything removed")
    finally:
        if lock:
            lock.close()
        for s, h in old.items():
            signal.signal(s, h)


def run(node, args, workdir):
    procs, cgroups = [], []
    try:
        for tag, binary, extra in (("a", args.a, args.a_args), ("b", args.b, args.b_args)):
            cg = compare.ToolCgroup(f"ab-{tag}").__enter__()
            cgroups.append(cg)
            port = compare.free_port()
            log = os.path.join(workdir, f"{tag}.log")
            with open(log, "w") as logf:
                proc = subprocess.Popen(
                    [binary, "--listen", f"127.0.0.1:{port}", "--interval", "1",
                     "--pods-file", node.pods_file] + shlex.split(extra),
                    stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    preexec_fn=cg.join)
            procs.append(proc)
            compare.wait_ready(proc, port, "/healthz", 60.0, log)
        time.sleep(args.warmup)
        ratios = []
        last = [cg.usage_ns() for cg in cgroups]
        t_last = time.monotonic()
        for i in range(args.rounds):
            time.sleep(args.window)
            for proc in procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
            now = [cg.usage_ns() for cg in cgroups]
            t = time.monotonic()
            a, b = ((n - l) / 1e6 / (t - t_last) for n, l in zip(now, last))
            ratios.append(b / a)
            (ca, ka), (cb, kb) = (cg.charged_kib() for cg in cgroups)
            print(f"round {i + 1}: A {a:.1f} ms/s, B {b:.1f} ms/s, B/A {b / a:.3f}; charged "
                  f"beyond files A {ca / 1024:.1f} MiB ({ka / 1024:.1f} kernel), "
                  f"B {cb / 1024:.1f} MiB ({kb / 1024:.1f} kernel)", flush=True)
            last, t_last = now, t
        print(f"median B/A over {len(ratios)} rounds of {args.window:g} s: "
              f"{statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})")
    finally:
        for proc in procs:
            compare.stop(proc)
        for cg in reversed(cgroups):
            cg.__exit__(None, None, None)


if __name__ == "__main__":
    main()
