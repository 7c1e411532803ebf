"""http_server_active_requests of the Python servers, whose gunicorn workers keep it in shared
memory, a slot each (refcommon/prom.py ActiveRequests): a request in flight in one worker shows
in a scrape another worker answers; a worker SIGKILLed in the middle of a request takes its
count with it once the master has replaced it, and the other workers' counts stay.

Three workers: two are held by a slow request each (fib(38): ~6 s here), the third
answers /metrics. Every wait is bounded."""

import os
import re
import signal
import threading
import time

import pytest
from launch import request, running

PYTHON_SERVERS = ["django", "flask"]
SLOW = "/fib?n=38"


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("logs")
    with running(names=PYTHON_SERVERS, env={"WORKERS": "3"}, log_dir=str(log_dir)) as running_servers:
        yield running_servers


def active(port):
    status, _, body = request(port, "GET", "/metrics", timeout=30)
    assert status == 200
    m = re.search(rb"^http_server_active_requests (\S+)$", body, re.M)
    assert m, body[:2000]
    return float(m.group(1))


def wait_for(what, predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


def slow_request(port):
    """Starts GET SLOW on a thread; the result (status, or the exception) lands in the list."""
    result = []

    def run():
        try:
            result.append(request(port, "GET", SLOW, timeout=120)[0])
        except OSError as e:  # the worker was killed
            result.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, result


def workers(master):
    with open(f"/proc/{master}/task/{master}/children") as f:
        return {int(p) for p in f.read().split()}


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def busy_workers(master):
    """The workers that used CPU over 0.5 s (the ones computing fib)."""
    before = {pid: cpu_ticks(pid) for pid in workers(master)}
    time.sleep(0.5)
    return [pid for pid, ticks in before.items() if cpu_ticks(pid) > ticks]


@pytest.mark.parametrize("name", PYTHON_SERVERS)
def test_a_request_in_flight_counts_in_another_workers_scrape(servers, name):
    port = servers[name].port
    assert active(port) == 0
    t, result = slow_request(port)
    wait_for("one request in flight", lambda: active(port) == 1, 30)
    t.join(120)
    assert result == [200]
    assert active(port) == 0


@pytest.mark.parametrize("name", PYTHON_SERVERS)
def test_a_worker_killed_mid_request_takes_only_its_own_count(servers, name):
    server = servers[name]
    port, master = server.port, server.process.pid
    first, first_result = slow_request(port)
    second, second_result = slow_request(port)
    wait_for("two requests in flight", lambda: active(port) == 2, 30)
    busy = busy_workers(master)
    assert len(busy) == 2, busy
    before = workers(master)
    os.kill(busy[0], signal.SIGKILL)
    # The master reaps it (its slot cleared) and forks a replacement (a slot cleared for it).
    wait_for("a replacement worker", lambda: len(workers(master) - before) == 1, 30)
    assert active(port) == 1  # the surviving worker's request, still in flight
    first.join(120)
    second.join(120)
    outcomes = first_result + second_result
    assert sorted(o == 200 for o in outcomes) == [False, True], outcomes
    assert active(port) == 0
