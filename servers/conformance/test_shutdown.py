"""Graceful shutdown, the way the kubelet stops a pod: the signal goes to the server process
alone (PID 1 of its container; for Django the gunicorn master). Each test starts its own
server, since each one ends it."""

import http.client
import json
import os
import re
import signal
import threading
import time

import pytest

import launch

# A request that is still running when the signal arrives: about 1 s on the 2-core machine
# (README: compute scaling), longer under load, never shorter.
SLOW = {"rust": 5_000_000, "go": 5_000_000, "django": 400_000}
PRIMES = {5_000_000: 348_513, 400_000: 33_860, 10_000_000: 664_579, 1_000_000: 78_498}
# Several seconds: still running when a SHUTDOWN_TIMEOUT_SECONDS of 0 runs out.
LONG = {"rust": 10_000_000, "go": 10_000_000, "django": 1_000_000}
HEALTH = {"rust": ("rust", "axum"), "go": ("go", "net/http"), "django": ("python", "django")}
BOUND = 60  # seconds; every wait below ends by then


@pytest.fixture
def start(tmp_path):
    started = []

    def start_server(name, **env):
        server = launch.Server(name, env={k: str(v) for k, v in env.items()}, log_dir=str(tmp_path))
        started.append(server)
        server.wait_ready(600)
        return server

    yield start_server
    for server in started:
        server.stop()


class InFlight(threading.Thread):
    """GET `target` on its own connection; `result` is (status, body) or the exception."""

    def __init__(self, port, target):
        super().__init__(daemon=True)
        self.port, self.target = port, target
        self.result, self.done_at = None, None
        self.start()

    def run(self):
        try:
            status, _, body = launch.request(self.port, "GET", self.target, timeout=BOUND)
            self.result = (status, body)
        except (OSError, http.client.HTTPException) as e:
            self.result = e
        self.done_at = time.monotonic()


def active_requests(port) -> float:
    _, _, body = launch.request(port, "GET", "/metrics", timeout=BOUND)
    return float(re.search(rb"^http_server_active_requests (\S+)$", body, re.M).group(1))


def wait_in_flight(server, request):
    """Until the server is handling `request` (/metrics is not instrumented, so 1 is it)."""
    deadline = time.monotonic() + BOUND
    while active_requests(server.port) < 1:
        assert request.result is None, f"finished before the signal: {request.result!r}"
        assert time.monotonic() < deadline, "the slow request never started"
        time.sleep(0.02)


def wait_refused(port, until) -> float | None:
    """Sends new requests until one gets no response (connection refused or reset); returns
    when that happened, or None if every request was served until `until()` says stop."""
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline and not until():
        try:
            launch.request(port, "GET", "/compute?n=10", timeout=BOUND)
        except (ConnectionError, http.client.RemoteDisconnected):
            return time.monotonic()
        time.sleep(0.02)
    return None


def wait_exit(server) -> int:
    return server.process.wait(timeout=BOUND)


def shutdown_lines(server):
    return [line for line in server.log().splitlines() if re.match(r"refserver: SIG\w+: shutting down", line)]


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("name", launch.SERVERS)
def test_signal_drains_requests_in_flight_then_exits_0(start, name, signame):
    server = start(name, SHUTDOWN_TIMEOUT_SECONDS=BOUND)
    n = SLOW[name]
    request = InFlight(server.port, f"/compute?n={n}")
    wait_in_flight(server, request)
    os.kill(server.process.pid, getattr(signal, signame))
    signalled = time.monotonic()
    refused_at = wait_refused(server.port, until=lambda: server.process.poll() is not None)
    request.join(BOUND)
    assert request.result == (200, b'{"n":%d,"primes":%d}' % (n, PRIMES[n]))
    assert request.done_at > signalled
    assert wait_exit(server) == 0, server.log()
    # New connections: Rust and Go close the listener at once, while the request still runs.
    # Django's busy worker keeps its inherited listening socket until it exits: the kernel
    # queues a new connection, and resets it when the worker is gone. Either way no response.
    assert refused_at is not None, "every new request was served until the process exited"
    if name != "django":
        assert refused_at < request.done_at
    [line] = shutdown_lines(server)
    assert line.startswith(f"refserver: {signame}: shutting down")


@pytest.mark.parametrize("name", launch.SERVERS)
def test_requests_still_running_at_the_timeout_are_cut_and_the_process_exits_0(start, name):
    server = start(name, SHUTDOWN_TIMEOUT_SECONDS=0)
    request = InFlight(server.port, f"/compute?n={LONG[name]}")
    wait_in_flight(server, request)
    os.kill(server.process.pid, signal.SIGTERM)
    assert wait_exit(server) == 0, server.log()
    request.join(BOUND)
    assert isinstance(request.result, (ConnectionError, http.client.RemoteDisconnected)), request.result


@pytest.mark.parametrize("name", launch.SERVERS)
def test_shutdown_delay_serves_with_health_503_then_stops(start, name):
    delay = 3
    server = start(name, SHUTDOWN_DELAY_SECONDS=delay)
    runtime, framework = HEALTH[name]
    os.kill(server.process.pid, signal.SIGTERM)
    signalled = time.monotonic()
    deadline = signalled + BOUND
    while (health := launch.request(server.port, "GET", "/health", timeout=BOUND))[0] == 200:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    want = {"status": "stopping", "runtime": runtime, "framework": framework}
    assert (health[0], json.loads(health[2])) == (503, want)
    assert launch.request(server.port, "GET", "/compute?n=10", timeout=BOUND)[:3:2] == (200, b'{"n":10,"primes":4}')
    assert wait_exit(server) == 0, server.log()
    assert time.monotonic() - signalled >= delay
    [line] = shutdown_lines(server)
    assert line.startswith(f"refserver: SIGTERM: shutting down (/health 503 for {delay}s")
