"""After the same requests, the seven /metrics expositions have the same http_server_* and
refserver_* names, label sets, bucket boundaries and exact counts."""

import math
import re

import pytest
from launch import STACKS, request

# (method, target, times): a fixed sequence, every status and the unmatched route.
SEQUENCE = [
    ("GET", "/health", 3), ("GET", "/compute?n=100", 2), ("GET", "/compute?n=x", 2), ("GET", "/payload?size=10", 5),
    ("GET", "/fib?n=41", 1), ("GET", "/hash?rounds=5", 4), ("GET", "/id", 6), ("POST", "/fib", 2),
    ("HEAD", "/health", 1), ("BREW", "/hash", 1), ("GET", "/nope", 3), ("DELETE", "/a/b/c", 1),
    ("GET", "/metrics", 2), ("POST", "/metrics", 1),
]  # fmt: skip
EXPECTED_COUNTS = {
    ("GET", "/health", "200"): 3 + 1,  # + the readiness probe of launch.Server
    ("GET", "/compute", "200"): 2, ("GET", "/compute", "400"): 2,
    ("GET", "/payload", "200"): 5, ("GET", "/fib", "400"): 1, ("GET", "/hash", "200"): 4, ("GET", "/id", "200"): 6,
    ("POST", "/fib", "405"): 2, ("HEAD", "/health", "200"): 1, ("_OTHER", "/hash", "405"): 1,
    ("GET", "unmatched", "404"): 3, ("DELETE", "unmatched", "404"): 1,
}  # fmt: skip
SHARED = ("http_server_", "refserver_")
BUCKETS = ["0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
           "+Inf"]  # fmt: skip
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text: str):
    """({family: type}, {(sample name, sorted label pairs): value}) of the shared families."""
    types, samples = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            if name.startswith(SHARED):
                types[name] = kind
        elif line and not line.startswith("#"):
            match = SAMPLE.match(line)
            assert match, f"unparsable sample line: {line!r}"
            name, labels, value = match.groups()
            if name.startswith(SHARED):
                samples[(name, tuple(sorted(LABEL.findall(labels or ""))))] = float(value)
    return types, samples


@pytest.fixture(scope="module")
def scraped(servers):
    for method, target, times in SEQUENCE:
        for _ in range(times):
            for server in servers.values():
                request(server.port, method, target)
    result = {}
    for name, server in servers.items():
        status, headers, body = request(server.port, "GET", "/metrics")
        assert status == 200 and headers["content-type"].startswith("text/plain")
        result[name] = parse(body.decode())
    return result


def test_same_families_and_types(scraped):
    types = {name: t for name, (t, _) in scraped.items()}
    assert types["rust"] == {
        "http_server_request_duration_seconds": "histogram",
        "http_server_active_requests": "gauge",
        "refserver_build_info": "gauge",
        "refserver_startup_seconds": "gauge",
    }
    assert all(t == types["rust"] for t in types.values()), types


def without_build_info_values(samples):
    return {
        (name, tuple((k, "*") for k, _ in labels) if name == "refserver_build_info" else labels)
        for name, labels in samples
    }


def test_same_sample_names_and_label_sets(scraped):
    keys = {name: without_build_info_values(samples) for name, (_, samples) in scraped.items()}
    for name in keys:
        assert keys[name] == keys["rust"], name


def test_exact_request_counts(scraped):
    for name, (_, samples) in scraped.items():
        counts = {
            tuple(dict(labels)[k] for k in ("method", "route", "status")): value
            for (metric, labels), value in samples.items()
            if metric == "http_server_request_duration_seconds_count"
        }
        assert counts == EXPECTED_COUNTS, name


def test_buckets(scraped):
    for name, (_, samples) in scraped.items():
        for key, count in EXPECTED_COUNTS.items():
            series = dict(zip(("method", "route", "status"), key))
            buckets = {
                dict(labels)["le"]: value
                for (metric, labels), value in samples.items()
                if metric == "http_server_request_duration_seconds_bucket"
                and {k: v for k, v in labels if k != "le"} == series
            }
            assert list(buckets) == BUCKETS or sorted(buckets) == sorted(BUCKETS), (name, key)
            values = [buckets[le] for le in BUCKETS]
            assert values == sorted(values) and values[-1] == count, (name, key, values)


def test_gauges(scraped):
    for name, (_, samples) in scraped.items():
        assert samples[("http_server_active_requests", ())] == 0, name
        startup = samples[("refserver_startup_seconds", ())]
        assert 0 < startup < 60 and math.isfinite(startup), name
        info = [(labels, v) for (metric, labels), v in samples.items() if metric == "refserver_build_info"]
        assert len(info) == 1 and info[0][1] == 1, name
        assert [k for k, _ in info[0][0]] == ["framework", "runtime", "version"], name
        labels = dict(info[0][0])
        assert (labels["runtime"], labels["framework"]) == STACKS[name], name
