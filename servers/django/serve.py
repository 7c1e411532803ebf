"""Gunicorn master of the Django reference server (run: python serve.py). See servers/README.md."""

import time

STARTED = time.perf_counter()  # the first line of main: refserver_startup_seconds counts from here

import os  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

from gunicorn.app.base import BaseApplication  # noqa: E402
from gunicorn.arbiter import Arbiter  # noqa: E402

SHUTDOWN_SECONDS_MAX = 3600  # the largest SHUTDOWN_DELAY_SECONDS and SHUTDOWN_TIMEOUT_SECONDS


def shutdown_seconds(name: str, default: int) -> int:
    """A SHUTDOWN_* variable: whole seconds, 0..=SHUTDOWN_SECONDS_MAX; ValueError otherwise."""
    text = os.environ.get(name) or str(default)
    if not text.isascii() or not text.isdigit() or int(text) > SHUTDOWN_SECONDS_MAX:
        raise ValueError(f"{name} must be an integer 0..={SHUTDOWN_SECONDS_MAX}")
    return int(text)


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
        from refserver import views

        print(
            f"refserver: {name}: shutting down (/health 503 for {self.shutdown_delay}s, "
            f"then up to {self.cfg.graceful_timeout}s for requests in flight)",
            file=sys.stderr,
            flush=True,
        )
        views.stopping.value = 1
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
    def __init__(self, options: dict, shutdown_delay: int):
        self.options = options
        self.shutdown_delay = shutdown_delay
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from refserver.wsgi import application

        return application

    def run(self):
        GracefulArbiter.shutdown_delay = self.shutdown_delay
        try:
            GracefulArbiter(self).run()
        except RuntimeError as e:  # as BaseApplication.run
            sys.exit(f"\nError: {e}\n")


def main() -> None:
    from refserver.work import machine_id

    try:
        machine_id(os.environ.get("MACHINE_ID"))
        workers = int(os.environ.get("WORKERS") or 4)
        timeout = int(os.environ.get("TIMEOUT") or 600)
        shutdown_delay = shutdown_seconds("SHUTDOWN_DELAY_SECONDS", 0)
        shutdown_timeout = shutdown_seconds("SHUTDOWN_TIMEOUT_SECONDS", 5)
    except ValueError as e:
        sys.exit(f"refserver: {e}")
    metrics_dir, fresh = multiproc_dir()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir  # before prometheus_client is imported

    def when_ready(server):  # the master has bound the socket, the app is loaded
        from refserver.metrics import STARTUP

        STARTUP.set(time.perf_counter() - STARTED)

    def child_exit(server, worker):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)

    def on_exit(server):
        if fresh:
            shutil.rmtree(metrics_dir, ignore_errors=True)

    host = os.environ.get("HOST") or "0.0.0.0"
    Server(
        {
            "bind": f"[{host}]:{os.environ.get('PORT') or 8080}" if ":" in host else f"{host}:{os.environ.get('PORT') or 8080}",
            "workers": workers,
            "worker_class": "sync",
            "preload_app": True,  # load Django before listening, so listening means ready
            "timeout": timeout,
            "graceful_timeout": shutdown_timeout,
            "control_socket_disable": True,  # its default path is shared by all instances
            "when_ready": when_ready,
            "child_exit": child_exit,
            "on_exit": on_exit,
        },
        shutdown_delay,
    ).run()


if __name__ == "__main__":
    main()
