"""The seven servers answer every request with the same status and the same JSON bytes."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import MACHINE_ID
from launch import SERVERS, STACKS, request

BAD_VALUES = ["", "abc", "1.5", "%201", "%2B5", "1e3", "-", "0x10", "%zz", "-1", "-99999999999999999999999",
              "99999999999999999999999"]  # fmt: skip
PARAMS = {"compute": ("n", 10_000_000), "payload": ("size", 100_000), "fib": ("n", 40), "hash": ("rounds", 100_000)}

CASES = [
    ("GET", "/compute"), ("GET", "/compute?n=0"), ("GET", "/compute?n=1"), ("GET", "/compute?n=2"),
    ("GET", "/compute?n=1000"), ("GET", "/compute?n=-0"), ("GET", "/compute?n=007"), ("GET", "/compute?n=%35"),
    ("GET", "/compute?n=5&n=7"), ("GET", "/compute?x=1&n=9"), ("GET", "/compute?n"),
    ("GET", "/payload"), ("GET", "/payload?size=0"), ("GET", "/payload?size=3"), ("GET", "/payload?size=100000"),
    ("GET", "/fib"), ("GET", "/fib?n=0"), ("GET", "/fib?n=1"), ("GET", "/fib?n=20"),
    ("GET", "/hash"), ("GET", "/hash?rounds=0"), ("GET", "/hash?rounds=1"), ("GET", "/hash?rounds=100000"),
    *[("GET", f"/{path}?{name}={value}") for path, (name, _) in PARAMS.items() for value in BAD_VALUES],
    *[("GET", f"/{path}?{name}={cap + 1}") for path, (name, cap) in PARAMS.items()],
    ("GET", "/"), ("GET", "/nope"), ("GET", "/compute/"), ("GET", "/Health"), ("GET", "/metrics/x"),
    ("GET", "//fib"), ("POST", "/nope"),
    ("POST", "/compute"), ("PUT", "/health"), ("DELETE", "/id"), ("PATCH", "/payload"), ("OPTIONS", "/fib"),
    ("BREW", "/hash"), ("POST", "/metrics"),
    ("HEAD", "/fib?n=10"), ("HEAD", "/nope"),
]  # fmt: skip


def call_all(servers, method, target):
    return {name: request(server.port, method, target) for name, server in servers.items()}


def test_cases_cover_every_bad_input_and_cap():
    targets = [target for _, target in CASES]
    for path, (name, cap) in PARAMS.items():
        for value in ("abc", "-1", str(cap + 1)):
            assert f"/{path}?{name}={value}" in targets


@pytest.mark.parametrize("method, target", CASES)
def test_same_status_and_body(servers, method, target):
    check_same_answer(servers, method, target)


def check_same_answer(servers, method, target):
    """Same status and body bytes from every server; JSON bodies, `{"error"}` on errors."""
    answers = call_all(servers, method, target)
    statuses = {name: status for name, (status, _, _) in answers.items()}
    bodies = {name: body for name, (_, _, body) in answers.items()}
    assert len(set(statuses.values())) == 1, (target, statuses)
    assert len(set(bodies.values())) == 1, (target, bodies)
    status, headers, body = answers["rust"]
    if method == "HEAD":
        assert body == b""
        return
    assert all(h["content-type"] == "application/json" for _, h, _ in answers.values())
    parsed = json.loads(body)
    if status == 405:
        assert all(h["allow"] == "GET, HEAD" for _, h, _ in answers.values())
    if status >= 400:
        assert set(parsed) == {"error"} and parsed["error"]
    assert status in (200, 400, 404, 405)


def test_known_results(servers):
    for name, server in servers.items():
        assert json.loads(request(server.port, "GET", "/compute")[2]) == {"n": 50000, "primes": 5133}, name
        assert json.loads(request(server.port, "GET", "/fib")[2]) == {"n": 30, "result": 832040}, name
        assert len(json.loads(request(server.port, "GET", "/payload")[2])) == 1000, name


def test_compute_reports_server_timing(servers):
    for name, server in servers.items():
        timing = request(server.port, "GET", "/compute?n=1000")[1]["server-timing"]
        assert timing.startswith("compute;dur=") and float(timing.split("=")[1]) >= 0, name


@pytest.mark.parametrize("name", SERVERS)
def test_health(servers, name):
    runtime, framework = STACKS[name]
    status, _, body = request(servers[name].port, "GET", "/health")
    assert (status, json.loads(body)) == (200, {"status": "ok", "runtime": runtime, "framework": framework})


@pytest.mark.parametrize("name", SERVERS)
def test_ids_unique_and_increasing(servers, name):
    def one_id(_):
        status, _, body = request(servers[name].port, "GET", "/id")
        assert status == 200
        return json.loads(body)["id"]

    sequential = [one_id(i) for i in range(50)]
    assert sequential == sorted(set(sequential))
    with ThreadPoolExecutor(4) as pool:  # several gunicorn workers at once
        concurrent = list(pool.map(one_id, range(100)))
    assert len(set(concurrent)) == len(concurrent)
    assert min(concurrent) > sequential[-1]
    for id_ in sequential + concurrent:
        assert 0 < id_ < 1 << 63 and (id_ >> 12) & 1023 == MACHINE_ID
