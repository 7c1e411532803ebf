"""http_server_request_duration_seconds of the Python servers, whose gunicorn workers keep it in
shared memory, a slot each (refcommon/histogram.py): the counts are the requests sent whichever
worker served them, and they stay when the workers that made them are SIGKILLed (a counter
never goes backwards in a scrape); the replacement workers add to them. No worker writes
prometheus_client's multiprocess files any more. Three workers; every wait is bounded."""

import os
import re
import signal

import pytest
from launch import request
# The same servers fixture (django and flask, 3 workers each), started once for this module.
from test_active_requests import PYTHON_SERVERS, servers, wait_for, workers  # noqa: F401

SERIES = '{method="GET",route="/id",status="200"}'


def scrape(port) -> bytes:
    status, _, body = request(port, "GET", "/metrics", timeout=30)
    assert status == 200
    return body


def series(body: bytes) -> dict:
    """{sample name suffix and le: value} of SERIES; each sample line appears once at most."""
    found = {}
    for name, le, value in re.findall(
        rb'^http_server_request_duration_seconds_(\w+)\{(?:le="([^"]*)",)?'
        + re.escape(SERIES[1:-1].encode()) + rb"\} (\S+)$", body, re.M
    ):
        key = (name.decode(), le.decode())
        assert key not in found, key
        found[key] = float(value)
    return found


def send(port, n):
    for _ in range(n):
        assert request(port, "GET", "/id", timeout=30)[0] == 200


def ready(port, master, replaced) -> bool:
    """Three workers, none of `replaced`, and /metrics answers."""
    now = workers(master)
    if len(now) != 3 or now & replaced:
        return False
    try:
        scrape(port)
        return True
    except OSError:
        return False


@pytest.mark.parametrize("name", PYTHON_SERVERS)
def test_counts_survive_killed_workers(servers, name):
    server = servers[name]
    port, master = server.port, server.process.pid
    wait_for("three workers", lambda: ready(port, master, set()), 60)  # gunicorn forks them one by one
    send(port, 40)  # fresh connections: spread over the workers by the kernel's accept queue
    before = series(scrape(port))
    assert before[("count", "")] == 40 and before[("bucket", "+Inf")] == 40, before
    assert before[("sum", "")] > 0
    killed = workers(master)
    for pid in killed:  # every worker that made a count
        os.kill(pid, signal.SIGKILL)
    wait_for("three replacement workers", lambda: ready(port, master, killed), 60)
    after = series(scrape(port))
    assert after == before  # every bucket, the count and the sum, exactly
    send(port, 10)
    later = series(scrape(port))
    assert later[("count", "")] == 50 and later[("bucket", "+Inf")] == 50, later
    assert later[("sum", "")] > before[("sum", "")]


@pytest.mark.parametrize("name", PYTHON_SERVERS)
def test_workers_write_no_metric_files(servers, name):
    """After requests, no worker has a prometheus_client file of its own (TYPE_PID.db) mapped:
    the request metrics are in the shared memory only. (The master's file of refserver_*,
    mapped before the fork, is inherited.)"""
    server = servers[name]
    send(server.port, 10)
    for pid in workers(server.process.pid):
        with open(f"/proc/{pid}/maps") as f:
            mapped = [line.split()[-1] for line in f if line.rstrip().endswith(".db")]
        assert mapped, pid  # the master's: the test sees the files
        assert not [path for path in mapped if path.endswith(f"_{pid}.db")], (pid, mapped)
