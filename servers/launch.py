"""Starts reference servers through `servers/run` on free loopback ports, and stops them
with their whole process group (gunicorn workers included). Used by the conformance test
and by compute-scaling; standard library only."""

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SERVERS = ("rust", "go", "django", "actix", "hyper", "fasthttp", "flask")
# Server name -> (runtime, framework), as /health and refserver_build_info say.
STACKS = {
    "rust": ("rust", "axum"), "go": ("go", "net/http"), "django": ("python", "django"),
    "actix": ("rust", "actix-web"), "hyper": ("rust", "hyper"), "fasthttp": ("go", "fasthttp"),
    "flask": ("python", "flask"),
}  # fmt: skip
GUNICORN = ("django", "flask")  # a master with forked sync workers
MAIN = ("rust", "go", "django")  # the main comparison (the reference report's three)
HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(
    port: int, method: str, target: str, timeout: float = 120, host: str = "127.0.0.1"
) -> tuple[int, dict, bytes]:
    """One request on a fresh connection: status, lower-cased headers, body."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, target)
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


class Server:
    """A server started by `servers/run NAME` in its own session, listening on `port`."""

    def __init__(self, name: str, env: dict | None = None, log_dir: str | None = None):
        self.name = name
        self.port = free_port()
        log_dir = log_dir or tempfile.gettempdir()
        self.log_path = Path(log_dir) / f"{name}-{self.port}.log"
        environ = {**os.environ, "HOST": "127.0.0.1", "PORT": str(self.port), **(env or {})}
        environ.pop("PROMETHEUS_MULTIPROC_DIR", None)  # each instance gets a fresh one
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [str(HERE / "run"), name], env=environ, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self, timeout: float) -> None:
        """Waits for GET /health (the first start may include a build)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log()}")
            with contextlib.suppress(OSError):
                if request(self.port, "GET", "/health", timeout=5)[0] == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready after {timeout:.0f}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        """SIGTERM to the process group, SIGKILL after 10 s."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            os.killpg(self.process.pid, signal.SIGKILL)  # leftover workers, if any
        self.process.wait()


@contextlib.contextmanager
def running(names=SERVERS, env: dict | None = None, log_dir: str | None = None, timeout: float = 600):
    """Starts the named servers and yields {name: Server}; always stops them."""
    servers = {}
    try:
        for name in names:
            servers[name] = Server(name, env, log_dir)
        for server in servers.values():
            server.wait_ready(timeout)
        yield servers
    finally:
        for server in servers.values():
            server.stop()
