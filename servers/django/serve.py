"""Gunicorn master of the Django reference server (run: python serve.py). See servers/README.md."""

import time

STARTED = time.perf_counter()  # the first line of main: refserver_startup_seconds counts from here

import os  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

from gunicorn.app.base import BaseApplication  # noqa: E402


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
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from refserver.wsgi import application

        return application


def main() -> None:
    from refserver.work import machine_id

    try:
        machine_id(os.environ.get("MACHINE_ID"))
        workers = int(os.environ.get("WORKERS") or 4)
        timeout = int(os.environ.get("TIMEOUT") or 600)
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
            "control_socket_disable": True,  # its default path is shared by all instances
            "when_ready": when_ready,
            "child_exit": child_exit,
            "on_exit": on_exit,
        }
    ).run()


if __name__ == "__main__":
    main()
