"""Graceful shutdown, the way the kubelet stops a pod: the signal goes to the server process
alone (PID 1 of its container; for Django and Flask the gunicorn master). Each test starts its own
server, since each one ends it."""

import http.client
import json
import os
import re
import signal
import socket
import threading
import time

import pytest

import launch

# A request that is still running when the signal arrives: about 1 s on the 2-core machine
# (README: compute scaling), longer under load, never shorter.
COMPILED = {"rust", "go", "actix", "hyper", "fasthttp"}
SLOW = {name: 5_000_000 if name in COMPILED else 400_000 for name in launch.SERVERS}
PRIMES = {5_000_000: 348_513, 400_000: 33_860, 10_000_000: 664_579, 1_000_000: 78_498}
# Several seconds: still running when a SHUTDOWN_TIMEOUT_SECONDS of 0 runs out.
LONG = {name: 10_000_000 if name in COMPILED else 1_000_000 for name in launch.SERVERS}
HEALTH = launch.STACKS
BOUND = 60  # seconds; every wait below ends by then
WORKERS = 4  # Django, Flask


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
    """GET `target` on its own connection; `result` is (status, body) or the exception;
    `sent` is set once the request is on the wire, `client_port` is the connection's port."""

    def __init__(self, port, target):
        super().__init__(daemon=True)
        self.port, self.target = port, target
        self.result, self.done_at, self.client_port = None, None, None
        self.sent = threading.Event()
        self.start()

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=BOUND)
        try:
            conn.connect()
            self.client_port = conn.sock.getsockname()[1]
            conn.request("GET", self.target)
            self.sent.set()
            response = conn.getresponse()
            self.result = (response.status, response.read())
        except (OSError, http.client.HTTPException) as e:
            self.result = e
        finally:
            conn.close()
            self.sent.set()
            self.done_at = time.monotonic()


def server_rx_queue(server_port, client_port) -> int | None:
    """Unread bytes of the server's end of a loopback connection (/proc/net/tcp), or None."""
    local, remote = f"0100007F:{server_port:04X}", f"0100007F:{client_port:04X}"
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == local and fields[2] == remote and fields[3] == "01":  # ESTABLISHED
                return int(fields[4].split(":")[1], 16)
    return None


def wait_in_flight(server, request):
    """Until the server has accepted `request`'s connection and read the request: its end of
    the connection has nothing left to read. Asks the kernel, not the server (a Rust worker
    thread busy with the request can hold back other requests' tasks)."""
    assert request.sent.wait(BOUND) and request.result is None, f"not sent: {request.result!r}"
    deadline = time.monotonic() + BOUND
    while server_rx_queue(server.port, request.client_port) != 0:
        assert request.result is None, f"finished before the signal: {request.result!r}"
        assert time.monotonic() < deadline, "the server never read the request"
        time.sleep(0.01)


def wait_refused(port, until) -> float | None:
    """Connects (TCP only: the server need not answer) until a connection fails; returns
    when that happened, or None if `until()` said stop first."""
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline and not until():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=BOUND).close()
        except (ConnectionRefusedError, ConnectionResetError):  # reset: queued as it closed
            return time.monotonic()
        time.sleep(0.01)
    return None


def wait_children(server, done):
    """Until done(number of child processes of the server) (Django: the gunicorn workers)."""
    deadline = time.monotonic() + BOUND
    while True:
        with open(f"/proc/{server.process.pid}/task/{server.process.pid}/children") as f:
            count = len(f.read().split())
        if done(count):
            return
        assert time.monotonic() < deadline, f"{count} children"
        time.sleep(0.01)


def wait_exit(server) -> int:
    return server.process.wait(timeout=BOUND)


def shutdown_lines(server):
    return [line for line in server.log().splitlines() if re.match(r"refserver: SIG\w+: shutting down", line)]


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("name", launch.SERVERS)
def test_signal_drains_requests_in_flight_then_exits_0(start, name, signame):
    server = start(name, SHUTDOWN_TIMEOUT_SECONDS=BOUND, WORKERS=WORKERS)
    gunicorn = name in launch.GUNICORN
    if gunicorn:  # ready with the first worker; the master forks the others after it
        wait_children(server, lambda count: count == WORKERS)
    n = SLOW[name]
    request = InFlight(server.port, f"/compute?n={n}")
    wait_in_flight(server, request)
    os.kill(server.process.pid, getattr(signal, signame))
    signalled = time.monotonic()
    if gunicorn:
        # The idle workers exit at once; the busy one keeps its inherited listening socket
        # until it is done, so the kernel still queues new connections: they are reset when
        # it exits, unanswered.
        wait_children(server, lambda count: count == 1)
        late = InFlight(server.port, "/compute?n=10")
        late.join(BOUND)
        assert isinstance(late.result, (ConnectionError, http.client.RemoteDisconnected)), late.result
    # The listener closes: Rust and Go at once, while the request still runs; gunicorn when
    # its last worker exits.
    refused_at = wait_refused(server.port, until=lambda: request.result is not None and not gunicorn)
    request.join(BOUND)
    assert request.result == (200, b'{"n":%d,"primes":%d}' % (n, PRIMES[n]))
    assert request.done_at > signalled
    assert wait_exit(server) == 0, server.log()
    assert refused_at is not None, "the listener stayed open"
    if not gunicorn:
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
    # Still serving, and telling keep-alive clients to reconnect (gunicorn's sync workers
    # always close).
    status, headers, body = launch.request(server.port, "GET", "/compute?n=10", timeout=BOUND)
    assert (status, body, headers.get("connection")) == (200, b'{"n":10,"primes":4}', "close")
    assert wait_exit(server) == 0, server.log()
    assert time.monotonic() - signalled >= delay
    [line] = shutdown_lines(server)
    assert line.startswith(f"refserver: SIGTERM: shutting down (/health 503 for {delay}s")
