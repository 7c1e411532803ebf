"""/metrics stays available under hostile clients (issue 15): while 300 slowloris connections,
200 idle keep-alives and 50 tight-loop clients hit podmeter on 127.0.0.1, a scraper asking once a
second gets every answer, each within 1 s; podmeter's threads, RSS and private memory stay
bounded; oversized request lines and headers get a 4xx. Loopback only, about 25 s in all."""
import json
import os
import socket
import subprocess
import sys
import time

import pytest

from harness import FIXTURES, free_port, http_get, parse, podmeter_bin, stop_process, value

HERE = os.path.dirname(os.path.abspath(__file__))
LOAD_SECONDS = 15
SLOWLORIS, IDLE, TIGHT = 300, 200, 50
MAX_THREADS = 16  # one HTTP thread (http_server.cc) and a handful of podmeter's own
MAX_RSS_KIB = 96 * 1024  # the DaemonSet's limit is 128Mi
# Private memory: ~3 MiB measured here under this load (issue 16's goal is 8 MiB at 110 pods);
# each held connection may keep up to 8 KiB of request head, 550 of them at most ~4.3 MiB more.
MAX_ANON_KIB = 16 * 1024


@pytest.fixture(scope="module")
def podmeter():
    root = os.path.join(FIXTURES, "v2-systemd")
    port = free_port()
    proc = subprocess.Popen(
        [podmeter_bin(), "--listen", f"127.0.0.1:{port}", "--cgroup-root",
         os.path.join(root, "sys/fs/cgroup"), "--proc-root", os.path.join(root, "proc"),
         "--pods-file", os.path.join(root, "pods.json"), "--no-relay"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while True:
        assert proc.poll() is None, f"podmeter exited with {proc.returncode}"
        try:
            if http_get(base + "/healthz", timeout=1)[0] == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, "podmeter did not become healthy"
        time.sleep(0.05)
    yield proc, port
    stop_process(proc)


def status_fields(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "RssAnon", "Threads"):
                out[key] = int(rest.split()[0])
    return out


def timed_scrape(port):
    """(seconds, HTTP status or the error) of one GET /metrics on a new connection."""
    start = time.monotonic()
    try:
        status, body, _ = http_get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        result = status if b"podmeter_build_info" in body else f"{status} without podmeter_build_info"
    except OSError as e:
        result = repr(e)
    return time.monotonic() - start, result


def test_scrapes_answered_within_1s_under_hostile_clients(podmeter):
    proc, port = podmeter
    load = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "hostile_clients.py"), str(port), str(LOAD_SECONDS),
         str(SLOWLORIS), str(IDLE), str(TIGHT)], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(2)  # every hostile connection open
        scrapes, peak = [], {"VmRSS": 0, "RssAnon": 0, "Threads": 0}
        while load.poll() is None and len(scrapes) < LOAD_SECONDS - 4:
            started = time.monotonic()
            scrapes.append(timed_scrape(port))
            for key, v in status_fields(proc.pid).items():
                peak[key] = max(peak[key], v)
            time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
        out, _ = load.communicate(timeout=LOAD_SECONDS + 30)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait()
    counts = json.loads(out.strip().splitlines()[-1])
    print(f"peak {peak}, load {counts}, slowest scrape {max(t for t, _ in scrapes):.3f} s")
    late = [(round(t, 2), r) for t, r in scrapes if r != 200 or t > 1.0]
    assert not late, f"{len(late)} of {len(scrapes)} scrapes failed or took over 1 s: {late}"
    assert len(scrapes) >= LOAD_SECONDS - 5, scrapes
    assert load.returncode == 0, counts
    assert counts["slowloris_connects"] >= SLOWLORIS and counts["idle_connects"] >= IDLE, counts
    assert counts["tight_requests"] > 0, counts
    assert peak["Threads"] <= MAX_THREADS, peak
    assert peak["VmRSS"] <= MAX_RSS_KIB, peak
    assert peak["RssAnon"] <= MAX_ANON_KIB, peak
    assert proc.poll() is None
    # Every slowloris and idle connection was dropped at its 2 s head deadline, at least once,
    # and counted (the counters show from the next sample: within 1 s here).
    dropped = None
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        _, body, _ = http_get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        dropped = value(parse(body.decode()), "podmeter_http_connections_dropped_total",
                        reason="head_timeout")
        if dropped >= SLOWLORIS + IDLE:
            break
        time.sleep(0.2)
    assert dropped is not None and dropped >= SLOWLORIS + IDLE, dropped


def raw_request(port, request):
    """The status code of the answer to `request` (bytes), or None if the server just closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        try:
            s.sendall(request)
        except OSError:
            pass  # the server may answer and close before it has read everything
        data = b""
        try:
            while b"\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
    if not data.startswith(b"HTTP/1."):
        return None
    return int(data.split(b" ")[1])


@pytest.mark.parametrize("request_bytes", [
    b"GET /metrics?" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n",
    b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"X-Many: a\r\n" * 2000 + b"\r\n",
], ids=["request-line", "header", "many-headers"])
def test_oversized_requests_get_a_4xx(podmeter, request_bytes):
    _, port = podmeter
    code = raw_request(port, request_bytes)
    assert code is not None and 400 <= code < 500, code
    assert http_get(f"http://127.0.0.1:{port}/healthz", timeout=5)[0] == 200
