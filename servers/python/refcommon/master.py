"""The gunicorn master of the Python reference servers: the same settings, start-up
measurement and shutdown for Django and Flask (servers/README.md)."""

import multiprocessing
import os
import shutil
import sys
import tempfile
import time

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from . import work

# Set by the gunicorn master when a shutdown signal arrives; in shared memory created before
# the workers fork (this module is imported by the master), so every worker's /health sees it.
stopping = multiprocessing.RawValue("b", 0)

SHUTDOWN_SECONDS_MAX = 3600  # the largest SHUTDOWN_DELAY_SECONDS and SHUTDOWN_TIMEOUT_SECONDS


def shutdown_seconds(name: str, default: int) -> int:
    """A SHUTDOWN_* variable: whole seconds, 0..=SHUTDOWN_SECONDS_MAX; ValueError otherwise."""
    text = os.environ.get(name) or str(default)
    if not text.isascii() or not text.isdigit() or int(text) > SHUTDOWN_SECONDS_MAX:
        raise ValueError(f"{name} must be an integer 0..={SHUTDOWN_SECONDS_MAX}")
    return int(text)


def request_metrics() -> bool:
    """REQUEST_METRICS: "on" (the default) records every request in http_server_*, "off"
    registers no request families (for measuring what they cost); ValueError otherwise."""
    text = os.environ.get("REQUEST_METRICS") or "on"
    if text not in ("on", "off"):
        raise ValueError("REQUEST_METRICS must be on or off")
    return text == "on"


class GracefulArbiter(Arbiter):
    """gunicorn's master, stopping the same way on SIGTERM and SIGINT (gunicorn's own SIGINT
    is a quick shutdown): /health turns 503, the workers keep serving for `shutdown_delay`
    seconds, then gunicorn's graceful stop: the listener closes and the workers finish their
    requests within graceful_timeout (SHUTDOWN_TIMEOUT_SECONDS) before being killed."""

    shutdown_delay = 0

    def handle_term(self):
        self._begin_shutdown("SIGTERM")

    def handle_int(self):
        self._begin_shutdown("SIGINT")

    def _begin_shutdown(self, name: str):
        print(
            f"refserver: {name}: shutting down (/health 503 for {self.shutdown_delay}s, "
            f"then up to {self.cfg.graceful_timeout}s for requests in flight)",
            file=sys.stderr,
            flush=True,
        )
        stopping.value = 1
        time.sleep(self.shutdown_delay)
        raise StopIteration


def multiproc_dir() -> tuple[str, bool]:
    """PROMETHEUS_MULTIPROC_DIR emptied of old values, or a fresh one; True when fresh."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        return tempfile.mkdtemp(prefix="refserver-metrics-"), True
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))
    return path, False


class Server(BaseApplication):
    def __init__(self, options: dict, shutdown_delay: int, load_app):
        self.options = options
        self.shutdown_delay = shutdown_delay
        self.load_app = load_app
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.load_app()

    def run(self):
        GracefulArbiter.shutdown_delay = self.shutdown_delay
        try:
            GracefulArbiter(self).run()
        except RuntimeError as e:  # as BaseApplication.run
            sys.exit(f"\nError: {e}\n")


def main(started: float, load_app) -> None:
    """Runs gunicorn's master serving the WSGI app that `load_app()` returns (called once, in
    the master, before it binds: preload_app). `started` is time.perf_counter() at the first
    line of the server's main script."""
    try:
        work.machine_id(os.environ.get("MACHINE_ID"))
        workers = int(os.environ.get("WORKERS") or 4)
        timeout = int(os.environ.get("TIMEOUT") or 600)
        shutdown_delay = shutdown_seconds("SHUTDOWN_DELAY_SECONDS", 0)
        shutdown_timeout = shutdown_seconds("SHUTDOWN_TIMEOUT_SECONDS", 5)
        request_metrics()
    except ValueError as e:
        sys.exit(f"refserver: {e}")
    metrics_dir, fresh = multiproc_dir()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir  # before prometheus_client is imported

    def when_ready(server):  # the master has bound the socket, the app is loaded
        from .prom import STARTUP

        STARTUP.set(time.perf_counter() - started)

    def pre_fork(server, worker):  # the master, before each worker's fork
        from . import prom

        if prom.REQUESTS:
            used = {getattr(w, "active_slot", None) for w in server.WORKERS.values()}
            worker.active_slot = prom.ACTIVE.claim(used)

    def post_fork(server, worker):  # the new worker
        from . import prom

        if prom.REQUESTS:
            prom.attach(worker.active_slot)

    def child_exit(server, worker):
        from prometheus_client import multiprocess

        from . import prom

        multiprocess.mark_process_dead(worker.pid)
        if prom.REQUESTS:
            prom.ACTIVE.release(getattr(worker, "active_slot", None))

    def on_exit(server):
        if fresh:
            shutil.rmtree(metrics_dir, ignore_errors=True)

    host = os.environ.get("HOST") or "0.0.0.0"
    Server(
        {
            "bind": f"[{host}]:{os.environ.get('PORT') or 8080}" if ":" in host else f"{host}:{os.environ.get('PORT') or 8080}",
            "workers": workers,
            "worker_class": "sync",
            "preload_app": True,  # load the app before listening, so listening means ready
            "timeout": timeout,
            "graceful_timeout": shutdown_timeout,
            "control_socket_disable": True,  # its default path is shared by all instances
            "when_ready": when_ready,
            "pre_fork": pre_fork,
            "post_fork": post_fork,
            "child_exit": child_exit,
            "on_exit": on_exit,
        },
        shutdown_delay,
        load_app,
    ).run()
