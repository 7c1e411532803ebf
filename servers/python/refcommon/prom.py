"""The Prometheus metrics of the Python reference servers, summed over the gunicorn workers.
The request families are in shared memory made by the master before the workers fork, a slot
per worker (ActiveRequests here, RequestDurations in histogram.py); refserver_* are set by the
master in prometheus_client's multiprocess mode (files under PROMETHEUS_MULTIPROC_DIR, which
master.py sets and cleans). Import after PROMETHEUS_MULTIPROC_DIR is set."""

import multiprocessing
import os
import platform
import re

from prometheus_client import CollectorRegistry, Gauge, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from .histogram import RequestDurations
from .master import request_metrics

disable_created_metrics()

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Room per worker slot for http_server_request_duration_seconds series (method label, route,
# status): the reachable ones are ~100 (most of them errors); more are counted, not recorded.
SERIES_PER_SLOT = 256


class ActiveRequests:
    """http_server_active_requests: each gunicorn worker's requests in flight in a slot of its
    own in shared memory made before the workers fork (this module is loaded by the master:
    preload_app), summed at a scrape. A slot is written by its worker only, so inc and dec are
    one store each: no lock, no file, no getpid — prometheus_client's multiprocess gauge took
    all three twice per request (docs/performance.md, "Reference servers"). The master gives a
    forked worker a free slot (claim) and clears a dead worker's (release), as the livesum mode
    dropped dead processes."""

    def __init__(self, slots: int):
        self._slots = multiprocessing.RawArray("q", slots)
        self.slot = 0  # this process's; a worker's is set after its fork

    def inc(self) -> None:
        self._slots[self.slot] += 1

    def dec(self) -> None:
        self._slots[self.slot] -= 1

    def claim(self, used: set) -> int:
        """A slot no live worker holds (the master, before a fork), its in-flight count cleared
        (its histogram series stay: RequestDurations). There are 2 x WORKERS + 2 (gunicorn has
        at most 2 x WORKERS alive, during a reload); were all held, the last would be shared,
        and its two writers could lose each other's updates."""
        free = next((i for i in range(len(self._slots)) if i not in used), len(self._slots) - 1)
        self._slots[free] = 0
        return free

    def release(self, slot) -> None:
        if slot is not None:
            self._slots[slot] = 0

    def value(self) -> int:
        return sum(self._slots)

    def collect(self):  # a prometheus_client collector for the scrape's registry
        yield GaugeMetricFamily("http_server_active_requests", "HTTP requests being handled now.",
                                value=float(self.value()))


# Whether requests are recorded (REQUEST_METRICS): the middleware checks it first and, when
# False, passes the request straight on; DURATION and ACTIVE are then never created and a
# scrape has no http_server_* family.
REQUESTS = request_metrics()
if REQUESTS:
    _SLOTS = 2 * int(os.environ.get("WORKERS") or 4) + 2
    DURATION = RequestDurations(BUCKETS, _SLOTS, SERIES_PER_SLOT)
    ACTIVE = ActiveRequests(_SLOTS)
BUILD_INFO = Gauge(
    "refserver_build_info",
    "Reference server runtime and framework; always 1.",
    ["runtime", "framework", "version"],
    multiprocess_mode="max",
)
STARTUP = Gauge(
    "refserver_startup_seconds",
    "Seconds from the first line of main to the listening socket.",
    multiprocess_mode="max",
)

_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"})


def set_build_info(framework: str) -> None:
    BUILD_INFO.labels("python", framework, platform.python_version()).set(1)


def attach(slot: int) -> None:
    """Makes this process (a worker, after its fork) the writer of the request metrics' `slot`."""
    ACTIVE.slot = slot
    DURATION.attach(slot)


def observe(method: str, route: str, status: int, seconds: float) -> None:
    """Records one request's duration in http_server_request_duration_seconds; the method
    label is the method, or _OTHER for a non-standard one (bounded label values)."""
    DURATION.observe((method if method in _KNOWN_METHODS else "_OTHER", route, status), seconds)


# prometheus_client prints whole bucket bounds as "1.0" where the Go and Rust clients
# print "1"; the expositions should be byte-identical.
_WHOLE_LE = re.compile(rb'(le="\d+)\.0"')


def exposition() -> bytes:
    """The Prometheus text exposition, summed over all processes."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    if REQUESTS:
        registry.register(DURATION)
        registry.register(ACTIVE)
    return _WHOLE_LE.sub(rb'\1"', generate_latest(registry))
