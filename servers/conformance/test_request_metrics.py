"""REQUEST_METRICS=off: the seven servers answer the same, and their /metrics has no request
family at all (nothing recorded), while refserver_* stay; a value other than on or off is a
start-up error. REQUEST_METRICS=on (the default) is test_metrics.py's exact counts."""

import os
import subprocess

import pytest
from launch import HERE, SERVERS, STACKS, free_port, request, running

REQUESTS = [("GET", "/fib?n=10", 200), ("GET", "/id", 200), ("GET", "/nope", 404), ("POST", "/fib", 405)]


@pytest.fixture(scope="module")
def servers_off(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("logs")
    with running(env={"REQUEST_METRICS": "off"}, log_dir=str(log_dir)) as servers:
        yield servers


def test_off_serves_and_records_nothing(servers_off):
    for name, server in servers_off.items():
        for method, target, status in REQUESTS * 3:
            assert request(server.port, method, target)[0] == status, (name, method, target)
        assert request(server.port, "GET", "/fib?n=10")[2] == b'{"n":10,"result":55}', name
        status, _, body = request(server.port, "GET", "/metrics")
        text = body.decode()
        assert status == 200, name
        assert "http_server_" not in text, f"{name} records requests with REQUEST_METRICS=off:\n{text}"
        runtime, framework = STACKS[name]
        assert f'refserver_build_info{{framework="{framework}",runtime="{runtime}",' in text, name
        assert "\nrefserver_startup_seconds " in text, name


@pytest.mark.parametrize("name", SERVERS)
def test_bad_value_is_a_startup_error(name):
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(free_port()), "REQUEST_METRICS": "no"}
    done = subprocess.run([str(HERE / "run"), name], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, (name, done.returncode, done.stderr)
    assert "refserver: REQUEST_METRICS must be on or off" in done.stderr, (name, done.stderr)
