"""refcommon.histogram.RequestDurations (shared by the Django and Flask servers): the values it
records and the exposition it renders, against prometheus_client's own multiprocess histogram
fed the same observations (what the servers used before)."""

import re

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from refcommon import prom
from refcommon.histogram import KEY_BYTES, RequestDurations

BUCKETS = prom.BUCKETS
# (key, seconds): bounds exactly (le is inclusive), between bounds, beyond the last, 0; binary
# fractions, so that the sums are exact in any order of addition.
OBSERVATIONS = [
    (("GET", "/id", 200), 0.25), (("GET", "/id", 200), 2**-10), (("GET", "/id", 200), 0.0),
    (("GET", "/fib", 400), 10.0), (("GET", "/fib", 400), 12.5), (("_OTHER", "unmatched", 404), 2**-9),
    (("GET", "/id", 200), 1.0), (("POST", "/fib", 405), 0.25),
]  # fmt: skip


def render(*collectors) -> str:
    registry = CollectorRegistry()
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry).decode()


def series_lines(text: str) -> list:
    return sorted(line for line in text.splitlines() if not line.startswith("#"))


def test_exposition_is_prometheus_clients(tmp_path, monkeypatch):
    """Across slots (workers), the same lines as prometheus_client's multiprocess histogram
    summed over processes' files: names, labels, cumulative buckets, count, the exact sum."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    theirs = Histogram("http_server_request_duration_seconds",
                       "Duration of HTTP requests handled by the application.", ["method", "route", "status"],
                       buckets=BUCKETS, registry=None)
    ours = RequestDurations(BUCKETS, slots=3, series_per_slot=8)
    for i, (key, seconds) in enumerate(OBSERVATIONS):
        ours.attach(i % 3)
        ours.observe(key, seconds)
        theirs.labels(key[0], key[1], str(key[2])).observe(seconds)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(tmp_path))
    expected = generate_latest(registry).decode()
    got = render(ours)
    assert got.splitlines()[:2] == expected.splitlines()[:2]  # HELP, TYPE
    assert series_lines(got) == series_lines(expected)
    assert 'http_server_request_duration_seconds_count{method="GET",route="/id",status="200"} 4.0' in got
    assert 'le="0.001",method="GET",route="/id",status="200"} 2.0' in got
    assert 'le="0.25",method="GET",route="/id",status="200"} 3.0' in got
    assert 'le="10.0",method="GET",route="/fib",status="400"} 1.0' in got
    assert "overflow" not in got


def count(text: str, method: str, route: str, status: str) -> float:
    pattern = rf'^http_server_request_duration_seconds_count{{method="{method}",route="{route}",status="{status}"}} (\S+)$'
    found = re.findall(pattern, text, re.M)
    assert len(found) <= 1, found
    return float(found[0]) if found else 0.0


def test_a_slot_taken_over_continues_its_series():
    """A worker attached to a dead worker's slot adds to the series left there (no second
    entry for the same labels), so nothing recorded goes away."""
    durations = RequestDurations(BUCKETS, slots=2, series_per_slot=4)
    durations.attach(1)
    for _ in range(3):
        durations.observe(("GET", "/id", 200), 0.5)
    durations.attach(0)
    durations.observe(("GET", "/id", 200), 0.125)
    durations.attach(1)  # as a replacement worker, fresh: its dict of series is rebuilt
    durations.observe(("GET", "/id", 200), 0.25)
    durations.observe(("GET", "/hash", 200), 0.002)
    assert durations._slot_keys(1) == [("GET", "/id", "200"), ("GET", "/hash", "200")]
    text = render(durations)
    assert count(text, "GET", "/id", "200") == 5
    assert count(text, "GET", "/hash", "200") == 1
    assert 'http_server_request_duration_seconds_sum{method="GET",route="/id",status="200"} 1.875' in text


def test_series_beyond_the_room_are_counted():
    durations = RequestDurations(BUCKETS, slots=2, series_per_slot=2)
    durations.observe(("GET", "/id", 200), 0.001)
    durations.observe(("GET", "/fib", 200), 0.001)
    durations.observe(("GET", "/hash", 200), 0.001)  # no room in slot 0
    durations.observe(("GET", "/hash", 200), 0.001)
    durations.observe(("GET", "/" + "x" * KEY_BYTES, 404), 0.001)  # labels too long to keep
    durations.attach(1)
    durations.observe(("GET", "/hash", 200), 0.001)  # slot 1 has room
    text = render(durations)
    assert (count(text, "GET", "/id", "200"), count(text, "GET", "/fib", "200")) == (1, 1)
    assert count(text, "GET", "/hash", "200") == 1
    assert "# TYPE refcommon_request_series_overflow_total counter" in text
    assert re.search(r"^refcommon_request_series_overflow_total 3.0$", text, re.M), text


def test_no_series_no_samples():
    text = render(RequestDurations(BUCKETS, slots=2, series_per_slot=2))
    assert text == (
        "# HELP http_server_request_duration_seconds Duration of HTTP requests handled by the application.\n"
        "# TYPE http_server_request_duration_seconds histogram\n"
    )
