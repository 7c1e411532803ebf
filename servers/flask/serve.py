"""Gunicorn master of the Flask reference server (run: python serve.py). See servers/README.md."""

import time

STARTED = time.perf_counter()  # the first line of main: refserver_startup_seconds counts from here

from refcommon import master  # noqa: E402


def load_app():
    from refflask.app import app

    return app


if __name__ == "__main__":
    master.main(STARTED, load_app)
