#!/usr/bin/env python3
"""bench/compare: podmeter side by side with the peers users would pick instead (issue #16).

Makes a synthetic node in real cgroup v1 (kubelet-shaped kubepods/burstable/pod<uid>/<64 hex>,
N pods × 2 containers, 9 sleeping processes per pod), then runs each tool ALONE on it for the
same window, sampled/scraped every second by a bounded loopback scraper:

  podmeter        build/exporter/podmeter --interval 1 --pods-file (a kubelet PodList)
  cadvisor-lib    cAdvisor's library packages at a pinned version (manager, raw handler,
                  Prometheus collector, housekeeping 1 s; cpu/memory/process/oom only) under a
                  small main of ours: it stands in for the cAdvisor binary, whose cmd module the
                  Go module proxy does not serve (bench/compare/cadvisor)
  process-exporter  github.com/ncabatoff/process-exporter, its defaults, grouped by cgroup
  node_exporter   Debian's prometheus-node-exporter, a few collectors, for scale
  floor           a C program that opens/reads/closes once a second the files podmeter reads:
                  for each pod and container the 11 cgroup files, for each container tasks and
                  cgroup.procs, for each process /proc/<pid>/statm (the issue's naive reader)
  floor-libproc2  the same with /proc/<pid>/stat, status and statm per process: what podmeter
                  read through libproc2 before issue 16 (the floor of the first runs)

and prints CPU ms per s (cpuacct.usage of a cgroup of its own: the tool and its children, in ns), peak RSS
(VmHWM), steady RSS (median VmRSS over the window) and of it private (median RssAnon: heap,
stacks, what the process's cgroup is charged beyond shared files), /metrics p50/p99 latency and bytes per
scrape, with ratios to podmeter; then the growth table of podmeter and the floor at 30/110/250
pods. Needs root and cgroup v1 (cpu, cpuacct, memory, pids). Holds the host lock
(/run/lock/podmeter-host.lock) while the synthetic node exists; removes every cgroup and process
it made, also on Ctrl-C or failure. Scrapes go to 127.0.0.1 only.

  bench/compare/compare.py                       # everything (≈ 6 min)
  bench/compare/compare.py --tools podmeter,floor --pods 2 --window 3 --no-growth
  bench/compare/compare.py --build-peers         # build the Go peers first (needs the Go proxy)
"""
import argparse
import fcntl
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts", "lib"))

from kubepods_v1 import KubepodsPod, podlist, v1_mounts, wait_empty  # noqa: E402

CACHE = os.environ.get("PODMETER_COMPARE_CACHE", "/var/cache/podmeter/compare")
LOCK = "/run/lock/podmeter-host.lock"
TOOLS = ("podmeter", "cadvisor-lib", "process-exporter", "node_exporter", "floor", "floor-libproc2")
PAGE = os.sysconf("SC_PAGE_SIZE")
PROCS_PER_POD = (5, 4)  # processes in container 0 and 1 of each pod: 9 per pod, 990 at 110


class Interrupted(Exception):
    pass


def _on_signal(signum, _frame):
    raise Interrupted(f"signal {signum}")


# ---------------------------------------------------------------------------- the synthetic node

class SyntheticNode:
    """`pods` pods of 2 containers each in real v1 cgroups, with sleeping processes; a PodList
    for them in `pods_file`. A context manager: everything is removed on exit."""

    def __init__(self, pods, workdir, sleep_seconds):
        self.n = pods
        self.workdir = workdir
        self.sleep_seconds = int(sleep_seconds)
        self.pods = []
        self.entries = []  # (pod, name, namespace, [(container name, container, restarts)])
        self.pods_file = os.path.join(workdir, f"pods-{pods}.json")

    def __enter__(self):
        try:
            for i in range(self.n):
                pod = KubepodsPod().__enter__()
                self.pods.append(pod)
                containers = []
                for j, nproc in enumerate(PROCS_PER_POD):
                    c = pod.container()
                    for _ in range(nproc):
                        c.spawn(["sleep", str(self.sleep_seconds)], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    containers.append((f"c{j}", c, 0))
                self.entries.append((pod, f"synthetic-{i:03d}", "bench", containers))
            self._wait_joined()
            with open(self.pods_file, "w") as f:
                json.dump(podlist(self.entries, node="bench"), f)
        except BaseException:
            self.cleanup()
            raise
        return self

    def _wait_joined(self, timeout=60.0):
        """Every process is in its container's cgroups (the shell writes cgroup.procs, then
        execs sleep): wait until each container's pids cgroup.procs has all of them."""
        deadline = time.monotonic() + timeout
        for _, _, _, containers in self.entries:
            for _, c, _ in containers:
                want = len(c.procs)
                while len(self._pids(c)) < want:
                    if time.monotonic() > deadline:
                        raise RuntimeError("processes did not join their cgroups in time")
                    time.sleep(0.01)

    @staticmethod
    def _pids(c):
        return [p for p in c.read("pids", "cgroup.procs").split() if p]

    def processes(self):
        return sum(len(self._pids(c)) for _, _, _, cs in self.entries for _, c, _ in cs)

    def containers(self):
        return [c for _, _, _, cs in self.entries for _, c, _ in cs]

    def floor_list(self, path, libproc2=False):
        """The files podmeter's readers read (collectors/readers, cgroup v1): for each pod and
        container cpu (cpuacct.usage, cpuacct.stat, cpu.stat, cpu.cfs_quota_us,
        cpu.cfs_period_us), memory (memory.usage_in_bytes, memory.stat, memory.limit_in_bytes,
        memory.oom_control), pids (pids.current, pids.max); for each container processes
        (tasks, cgroup.procs, and each pid's /proc statm — with `libproc2`, stat, status and
        statm as libproc2 read them)."""
        files = {"cpuacct": ("cpuacct.usage", "cpuacct.stat"),
                 "cpu": ("cpu.stat", "cpu.cfs_quota_us", "cpu.cfs_period_us"),
                 "memory": ("memory.usage_in_bytes", "memory.stat", "memory.limit_in_bytes",
                            "memory.oom_control"),
                 "pids": ("pids.current", "pids.max")}
        lines = []
        for pod in self.pods:
            for dirs in [pod.dirs] + [c.dirs for c in pod.containers]:
                for ctl, names in files.items():
                    lines += [f"f {os.path.join(dirs[ctl], n)}" for n in names]
            for c in pod.containers:
                lines.append(f"f {os.path.join(c.dirs['pids'], 'tasks')}")
                lines.append(f"{'p' if libproc2 else 's'} {os.path.join(c.dirs['pids'], 'cgroup.procs')}")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def __exit__(self, *exc):
        self.cleanup()

    def cleanup(self):
        # A second Ctrl-C must not cut the removal short.
        old = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self._remove()
        finally:
            for s, h in old.items():
                signal.signal(s, h)

    def _remove(self):
        for pod in reversed(self.pods):
            try:
                pod.cleanup()
            except OSError as e:
                print(f"compare: cleanup of {pod.rel}: {e}", file=sys.stderr)
        self.pods = []


# ---------------------------------------------------------------------------- measuring

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ToolCgroup:
    """A cpuacct and a memory cgroup of compare's own for one tool run: the tool is started inside
    them, so cpuacct.usage counts its CPU and its children's in nanoseconds (utime/stime come in
    10 ms clock ticks: podmeter at 2 pods for 3 s can cost less than one), and the memory cgroup
    what its container would be charged, kernel memory (open files, dentries) included.
    Removed on exit."""

    def __init__(self, tool):
        name = f"podmeter-compare-{os.getpid()}-{tool}"
        self.path = os.path.join(v1_mounts()["cpuacct"], name)
        self.memory = os.path.join(v1_mounts()["memory"], name)
        self.made = []

    def __enter__(self):
        for path in (self.path, self.memory):
            if path not in self.made:  # cpuacct and memory may share a hierarchy
                os.mkdir(path)
                self.made.append(path)
        return self

    def join(self):
        """For preexec_fn: moves the calling (child) process in before it execs the tool."""
        for path in self.made:
            with open(os.path.join(path, "cgroup.procs"), "w") as f:
                f.write("0")

    def usage_ns(self):
        with open(os.path.join(self.path, "cpuacct.usage")) as f:
            return int(f.read())

    def charged_kib(self):
        """(charged beyond file pages, of it kernel memory) in KiB: memory.usage_in_bytes less
        memory.stat's total_cache (the binary's and libraries' pages, page cache: shared), and
        memory.kmem.usage_in_bytes."""
        with open(os.path.join(self.memory, "memory.usage_in_bytes")) as f:
            usage = int(f.read())
        cache = 0
        with open(os.path.join(self.memory, "memory.stat")) as f:
            for line in f:
                key, _, v = line.partition(" ")
                if key == "total_cache":
                    cache = int(v)
        try:
            with open(os.path.join(self.memory, "memory.kmem.usage_in_bytes")) as f:
                kmem = int(f.read())
        except OSError:
            kmem = 0
        return max(0, usage - cache) / 1024.0, kmem / 1024.0

    def __exit__(self, *exc):
        wait_empty(self.made)  # a stopped tool's tasks can linger briefly
        for path in reversed(self.made):
            try:
                os.rmdir(path)
            except OSError as e:
                print(f"compare: cannot remove {path}: {e}", file=sys.stderr)


def proc_status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def scrape(port, path="/metrics", timeout=10.0):
    """(seconds, bytes) of one GET to 127.0.0.1:port."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        t0 = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        elapsed = time.perf_counter() - t0
        if resp.status != 200:
            raise RuntimeError(f"GET {path} on :{port}: {resp.status}")
        return elapsed, len(body)
    finally:
        conn.close()


def percentile(values, q):
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(q * (len(s) - 1)))))]


def measure(proc, cgroup, port, window, interval):
    """CPU (of `cgroup`), RSS and scrapes of `proc` over `window` seconds: one scrape (if port)
    and one RSS reading per `interval`, at most window/interval + 1 of each, the loop bounded in
    time."""
    ns0, t0 = cgroup.usage_ns(), time.monotonic()
    rss, anon, charged, kmem, lat, sizes = [], [], [], [], [], []
    rounds = int(window / interval)
    deadline = t0 + window + 30.0
    for i in range(rounds):
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        if port:
            try:
                elapsed, size = scrape(port)
                lat.append(elapsed)
                sizes.append(size)
            except (OSError, RuntimeError, http.client.HTTPException) as e:
                print(f"compare: scrape failed: {e}", file=sys.stderr)
        rss.append(proc_status_kib(proc.pid, "VmRSS"))
        anon.append(proc_status_kib(proc.pid, "RssAnon"))
        c, k = cgroup.charged_kib()
        charged.append(c)
        kmem.append(k)
        next_tick = t0 + (i + 1) * interval
        now = time.monotonic()
        if now > deadline:
            break
        if next_tick > now:
            time.sleep(next_tick - now)
    ns1, t1 = cgroup.usage_ns(), time.monotonic()
    return {
        "cpu_ms_per_s": (ns1 - ns0) / 1e6 / (t1 - t0),
        # VmHWM, or a higher VmRSS read during the window: the kernel's high-water mark is not
        # raised when pages go by madvise (podmeter's malloc_trim), so it can miss a peak.
        "peak_rss_mib": max([proc_status_kib(proc.pid, "VmHWM")] + rss) / 1024.0,
        "steady_rss_mib": statistics.median(rss) / 1024.0 if rss else None,
        "steady_anon_mib": statistics.median(anon) / 1024.0 if anon else None,
        "steady_charged_mib": statistics.median(charged) / 1024.0 if charged else None,
        "steady_kmem_mib": statistics.median(kmem) / 1024.0 if kmem else None,
        "p50_ms": percentile(lat, 0.50) * 1000 if lat else None,
        "p99_ms": percentile(lat, 0.99) * 1000 if lat else None,
        "bytes": statistics.median(sizes) if sizes else None,
        "scrapes": len(lat),
        "window_s": t1 - t0,
    }


def samples_total(port):
    """podmeter_samples_total from podmeter's /metrics."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/metrics")
        for line in conn.getresponse().read().decode().splitlines():
            if line.startswith("podmeter_samples_total"):
                return float(line.split()[-1])
    finally:
        conn.close()
    return None


def open_kind(path):
    """/proc/<pid>/stat (any proc root) -> "/proc/<pid>/stat"; a cgroup file -> its name."""
    m = re.search(r"/proc/\d+/(task/\d+/)?(.*)$", path)
    if m:
        return "/proc/<pid>/" + ("task/<tid>/" if m.group(1) else "") + m.group(2)
    if "/sys/fs/cgroup/" in path:
        return path.rsplit("/", 1)[-1]
    return path


def opens_per_sample(pid, port, seconds, workdir):
    """(opens per sample, {kind: opens per sample}) of podmeter, from `strace -f -ttt` attached
    for `seconds` after the measured window (strace slows it). The samples are delimited by
    polling podmeter_samples_total every 50 ms: only the opens between the first and the last
    increment seen are counted, over the samples finished between them. None without strace or
    without two increments."""
    if not shutil.which("strace"):
        return None
    out = os.path.join(workdir, f"strace-{pid}.txt")
    tracer = subprocess.Popen(["strace", "-f", "-qq", "-ttt", "-e", "trace=openat,open", "-o", out,
                               "-p", str(pid)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    marks = []  # (wall time just after samples_total moved, its value)
    try:
        time.sleep(0.5)  # attached to every thread
        last = samples_total(port)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(0.05)
            value = samples_total(port)
            if value is not None and last is not None and value > last:
                marks.append((time.time(), value))
            last = value
    finally:
        tracer.send_signal(signal.SIGINT)
        try:
            tracer.wait(timeout=30)
        except subprocess.TimeoutExpired:
            tracer.kill()
            tracer.wait()
    if len(marks) < 2:
        return None
    (t0, s0), (t1, s1) = marks[0], marks[-1]
    kinds = {}
    with open(out) as f:
        for line in f:
            fields = line.split(None, 2)
            if len(fields) < 3 or '"' not in fields[2] or "resumed>" in fields[2]:
                continue
            try:
                ts = float(fields[1])
            except ValueError:
                continue
            if not t0 <= ts < t1:
                continue
            kind = open_kind(fields[2].split('"')[1])
            if "O_DIRECTORY" in fields[2]:
                kind = kind + "/" if kind.startswith("/proc") else "cgroup directory listings"
            kinds[kind] = kinds.get(kind, 0) + 1
    n = s1 - s0
    return sum(kinds.values()) / n, {k: v / n for k, v in sorted(kinds.items())}


def stop(proc, grace=10.0):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_ready(proc, port, path, timeout, log):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}; see {log}")
        try:
            scrape(port, path, timeout=5.0)
            return
        except (OSError, RuntimeError, http.client.HTTPException):
            time.sleep(0.1)
    raise RuntimeError(f"{proc.args[0]} not ready on :{port}{path} in {timeout} s; see {log}")


# ---------------------------------------------------------------------------- the tools

def floor_binary():
    """bench/compare/floor.c built into the cache (again when the source is newer)."""
    src, out = os.path.join(HERE, "floor.c"), os.path.join(CACHE, "floor")
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        os.makedirs(CACHE, exist_ok=True)
        subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", out, src], check=True)
    return out


def tool_command(tool, node, port, args, workdir):
    """(argv, readiness path or None) for one tool on `node`."""
    if tool == "podmeter":
        return [args.podmeter, "--listen", f"127.0.0.1:{port}", "--interval", str(args.interval),
                "--pods-file", node.pods_file], "/healthz"
    if tool == "cadvisor-lib":
        return [os.path.join(CACHE, "cadvisor-lib"), "--listen", f"127.0.0.1:{port}",
                "--housekeeping", f"{args.interval}s",
                "--raw-cgroup-prefix-whitelist", "/kubepods"], "/metrics"
    if tool == "process-exporter":
        config = os.path.join(workdir, "process-exporter.yml")
        with open(config, "w") as f:
            # The synthetic node's processes (all named sleep), one group per cgroup.
            f.write('process_names:\n  - name: "{{.Cgroups}}"\n    comm: [sleep]\n')
        return [os.path.join(CACHE, "process-exporter"), "-config.path", config,
                "-web.listen-address", f"127.0.0.1:{port}"], "/metrics"
    if tool == "node_exporter":
        return [shutil.which("prometheus-node-exporter") or "prometheus-node-exporter",
                f"--web.listen-address=127.0.0.1:{port}", "--collector.disable-defaults",
                "--collector.cpu", "--collector.meminfo", "--collector.loadavg",
                "--collector.stat"], "/metrics"
    if tool in ("floor", "floor-libproc2"):
        listing = node.floor_list(os.path.join(workdir, f"{tool}.list"),
                                  libproc2=tool == "floor-libproc2")
        return [floor_binary(), listing, "0", str(int(args.interval * 1000))], None
    raise ValueError(tool)


def missing(tool, args):
    """Why `tool` cannot run here, or None."""
    path = {"podmeter": args.podmeter, "cadvisor-lib": os.path.join(CACHE, "cadvisor-lib"),
            "process-exporter": os.path.join(CACHE, "process-exporter")}.get(tool)
    if path and not os.access(path, os.X_OK):
        hint = "bench/compare/build_peers.sh" if tool != "podmeter" else "scripts/build"
        return f"{path} not built ({hint})"
    if tool == "node_exporter" and not shutil.which("prometheus-node-exporter"):
        return "prometheus-node-exporter not installed (apt-get install prometheus-node-exporter)"
    if tool.startswith("floor") and not shutil.which("cc"):
        return "no C compiler"
    return None


def run_tool(tool, node, args, workdir):
    port = free_port()
    argv, ready = tool_command(tool, node, port, args, workdir)
    log = os.path.join(workdir, f"{tool}-{node.n}.log")
    with ToolCgroup(tool) as cgroup:
        with open(log, "w") as logf:
            proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, preexec_fn=cgroup.join)
        try:
            if ready:
                wait_ready(proc, port, ready, 60.0, log)
            time.sleep(args.warmup)  # first samples, discovery of every cgroup
            result = measure(proc, cgroup, port if ready else None, args.window, args.interval)
            if tool == "podmeter" and args.count_opens:
                opens = opens_per_sample(proc.pid, port, args.count_opens, workdir)
                if opens:
                    result["opens_per_sample"], result["opens_by_kind"] = opens
        finally:
            stop(proc)
    if tool.startswith("floor"):
        with open(log) as f:
            tail = f.read().strip().splitlines()
        result["floor"] = tail[-1] if tail else ""
    return result


# ---------------------------------------------------------------------------- output

def fmt(v, unit="", digits=1):
    if v is None:
        return "–"
    return f"{v:.{digits}f}{unit}"


def ratio(v, base):
    if v is None or not base:
        return ""
    x = v / base
    return f" ({x:.0f}×)" if x >= 10 else f" ({x:.1f}×)" if x >= 1 else f" ({x:.2f}×)"


def main_table(results, node_desc):
    base = results.get("podmeter") or {}
    lines = [f"Side by side, {node_desc}; ratios to podmeter in brackets",
             "",
             "| | CPU ms per s | peak RSS | steady RSS | of it private | charged beyond files | of it kernel | /metrics p50 | /metrics p99 | bytes per scrape |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for tool, r in results.items():
        if "skipped" in r:
            lines.append(f"| {LABELS[tool]} | skipped: {r['skipped']} | | | | | | | | |")
            continue
        lines.append(
            f"| {LABELS[tool]} | {fmt(r['cpu_ms_per_s'])}{ratio(r['cpu_ms_per_s'], base.get('cpu_ms_per_s'))}"
            f" | {fmt(r['peak_rss_mib'], ' MiB')}{ratio(r['peak_rss_mib'], base.get('peak_rss_mib'))}"
            f" | {fmt(r['steady_rss_mib'], ' MiB')}"
            f" | {fmt(r.get('steady_anon_mib'), ' MiB')}"
            f" | {fmt(r.get('steady_charged_mib'), ' MiB')}"
            f" | {fmt(r.get('steady_kmem_mib'), ' MiB')}"
            f" | {fmt(r['p50_ms'], ' ms')}"
            f" | {fmt(r['p99_ms'], ' ms')}{ratio(r['p99_ms'], base.get('p99_ms'))}"
            f" | {fmt(r['bytes'] / 1000 if r['bytes'] else None, ' kB', 0)}"
            f"{ratio(r['bytes'], base.get('bytes'))} |")
    return "\n".join(lines)


def growth_table(growth):
    lines = ["Growth with pods (9 processes per pod); cost per pod = CPU ms per s / pods",
             "",
             "| pods | processes | tool | CPU ms per s | per pod | peak RSS | steady RSS | of it private | charged beyond files | bytes per scrape |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for (pods, procs, tool), r in growth.items():
        if "skipped" in r:
            lines.append(f"| {pods} | {procs} | {tool} | skipped: {r['skipped']} | | | | | | |")
            continue
        lines.append(
            f"| {pods} | {procs} | {tool} | {fmt(r['cpu_ms_per_s'])} | {fmt(r['cpu_ms_per_s'] / pods, '', 2)}"
            f" | {fmt(r['peak_rss_mib'], ' MiB')} | {fmt(r['steady_rss_mib'], ' MiB')}"
            f" | {fmt(r.get('steady_anon_mib'), ' MiB')}"
            f" | {fmt(r.get('steady_charged_mib'), ' MiB')}"
            f" | {fmt(r['bytes'] / 1000 if r['bytes'] else None, ' kB', 0)} |")
    return "\n".join(lines)


LABELS = {
    "podmeter": "podmeter",
    "cadvisor-lib": "cAdvisor v0.60.5 library (our main stands in for its binary; housekeeping 1 s, cpu/memory/process/oom only, /kubepods only)",
    "process-exporter": "process-exporter v0.8.7 (the node's processes grouped by cgroup, its defaults)",
    "node_exporter": "node_exporter (Debian; cpu, meminfo, loadavg, stat collectors, for scale)",
    "floor": "floor: open/read/close of the same files once, in C (statm per process)",
    "floor-libproc2": "floor as before issue 16: /proc stat, status and statm per process",
}


# ---------------------------------------------------------------------------- main

def take_lock():
    """The host lock, unless a parent (a pytest session of tests/e2e) already holds it."""
    if os.environ.get("PODMETER_HOST_LOCKED"):
        return None
    f = open(LOCK, "w")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"compare: waiting for the host lock {LOCK} (another run holds it)",
              file=sys.stderr, flush=True)
        fcntl.flock(f, fcntl.LOCK_EX)
    return f


def machine_line():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = open("/proc/loadavg").read().split()[:3]
    return (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.node()}: "
            f"{os.cpu_count()} × {cpu}, kernel {platform.release()}, load {' '.join(load)}")


def run_node(pods, tools, args, workdir, sleep_seconds):
    results = {}
    with SyntheticNode(pods, workdir, sleep_seconds) as node:
        procs = node.processes()
        print(f"compare: node of {pods} pods / {2 * pods} containers / {procs} processes up",
              file=sys.stderr, flush=True)
        for tool in tools:
            why = missing(tool, args)
            if why:
                results[tool] = {"skipped": why}
                print(f"compare: {tool}: skipped ({why})", file=sys.stderr, flush=True)
                continue
            print(f"compare: {tool} alone for {args.window} s ...", file=sys.stderr, flush=True)
            try:
                results[tool] = run_tool(tool, node, args, workdir)
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                # One tool that fails (exits, never ready) does not cost the others' figures.
                results[tool] = {"skipped": f"failed: {e}"}
                print(f"compare: {tool}: failed: {e}", file=sys.stderr, flush=True)
    return procs, results


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pods", type=int, default=110, help="pods of the main table (2 containers, 9 processes each)")
    p.add_argument("--window", type=float, default=30.0, help="seconds each tool is measured")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds after ready, not measured")
    p.add_argument("--interval", type=float, default=1.0, help="sample and scrape interval")
    p.add_argument("--tools", default=",".join(TOOLS), help="comma-separated, of: " + ", ".join(TOOLS))
    p.add_argument("--growth", default="30,110,250", help="pod counts of the growth table")
    p.add_argument("--growth-tools", default="podmeter,floor", help="tools of the growth table")
    p.add_argument("--no-growth", action="store_true")
    p.add_argument("--podmeter", default=os.path.join(ROOT, "build", "exporter", "podmeter"),
                   help="the podmeter binary")
    p.add_argument("--json", help="also write the figures here")
    p.add_argument("--count-opens", type=int, default=8,
                   help="seconds of strace after podmeter's window to count its opens per sample (0: off)")
    p.add_argument("--build-peers", action="store_true", help="run build_peers.sh first")
    a = p.parse_args(argv)
    a.tools = [t for t in a.tools.split(",") if t]
    a.growth_tools = [t for t in a.growth_tools.split(",") if t]
    bad = [t for t in a.tools + a.growth_tools if t not in TOOLS]
    if bad:
        p.error(f"unknown tools {bad}; known: {', '.join(TOOLS)}")
    if not (1 <= a.pods <= 500) or not (0 < a.window <= 600) or not (0.1 <= a.interval <= 10):
        p.error("--pods 1..500, --window ≤ 600 s, --interval 0.1..10 s")
    a.growth = [] if a.no_growth else [int(x) for x in a.growth.split(",") if x]
    if any(not 1 <= n <= 500 for n in a.growth):
        p.error("--growth pod counts 1..500")
    return a


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    if os.geteuid() != 0:
        sys.exit("compare: needs root (real cgroups)")
    if not all(c in v1_mounts() for c in ("cpu", "cpuacct", "memory", "pids")):
        sys.exit("compare: needs cgroup v1 cpu, cpuacct, memory and pids mounted")
    if args.build_peers:
        subprocess.run([os.path.join(HERE, "build_peers.sh")], check=True)
    runs = 1 + len(args.growth) * 1
    per_node = (args.window + args.warmup + 20) * max(len(args.tools), len(args.growth_tools))
    sleep_seconds = runs * per_node + 300  # the sleepers outlive no run by much
    old_handlers = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    workdir = tempfile.mkdtemp(prefix="podmeter-compare-")
    lock = None
    out = {}
    try:
        lock = take_lock()
        out["machine"] = machine_line()
        procs, results = run_node(args.pods, args.tools, args, workdir, sleep_seconds)
        desc = (f"{args.pods} pods / {2 * args.pods} containers / {procs} processes in real v1 "
                f"cgroups, each tool alone for {args.window:g} s, sampled and scraped every "
                f"{args.interval:g} s")
        out["main"] = results
        growth = {}
        for n in args.growth:
            if n == args.pods and all(t in results for t in args.growth_tools):
                for t in args.growth_tools:
                    growth[(n, procs, t)] = results[t]
                continue
            p, r = run_node(n, args.growth_tools, args, workdir, sleep_seconds)
            for t in args.growth_tools:
                growth[(n, p, t)] = r[t]
    except Interrupted as e:
        sys.exit(f"compare: interrupted ({e}); every cgroup and process removed")
    finally:
        if lock:
            lock.close()
        shutil.rmtree(workdir, ignore_errors=True)
        for s, h in old_handlers.items():
            signal.signal(s, h)
    print(f"# bench/compare — {out['machine']}\n")
    print(main_table(results, desc))
    if "cadvisor-lib" in results and "skipped" not in results["cadvisor-lib"]:
        print("\ncAdvisor: its cmd module is not served by the Go module proxy, so a small main of "
              "ours over cAdvisor's library packages (bench/compare/cadvisor) stands in for its "
              "binary.")
    for floor in ("floor", "floor-libproc2"):
        if floor in results and "skipped" not in results[floor]:
            print(f"{floor} per sample: {results[floor].get('floor', '')}")
    pm = results.get("podmeter") or {}
    if pm.get("opens_per_sample") is not None:
        kinds = ", ".join(f"{k} {v:.0f}" for k, v in pm["opens_by_kind"].items() if v >= 0.5)
        print(f"podmeter opens per sample: {pm['opens_per_sample']:.0f} (strace -f for "
              f"{args.count_opens} s after its window, over the samples it finished): {kinds}")
    if growth:
        print()
        print(growth_table(growth))
    if args.json:
        out["growth"] = [{"pods": k[0], "processes": k[1], "tool": k[2], **v}
                         for k, v in growth.items()]
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
