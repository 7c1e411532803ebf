import json
import time

import pytest
from refflask import app as server
from werkzeug.test import EnvironBuilder


@pytest.fixture
def client():
    return server.app.test_client()


@pytest.mark.parametrize(
    "method, path, status, body",
    [
        ("get", "/health", 200, '{"status":"ok","runtime":"python","framework":"flask"}'),
        ("get", "/compute", 200, '{"n":50000,"primes":5133}'),
        ("get", "/compute?n=3&n=10", 200, '{"n":3,"primes":2}'),
        ("get", "/fib?n=10", 200, '{"n":10,"result":55}'),
        ("get", "/payload?size=0", 200, "[]"),
        ("get", "/hash?rounds=0", 200, '{"rounds":0,"hash":"706f646d65746572"}'),
        ("get", "/fib?n=41", 400, '{"error":"n must be at most 40"}'),
        ("get", "/compute?n=x", 400, '{"error":"n must be an integer"}'),
        ("get", "/nope", 404, '{"error":"not found"}'),
        ("get", "/fib/", 404, '{"error":"not found"}'),
        ("post", "/fib", 405, '{"error":"method not allowed"}'),
        ("options", "/fib", 405, '{"error":"method not allowed"}'),
        ("head", "/fib?n=5", 200, ""),
    ],
)
def test_endpoints(client, method, path, status, body):
    response = getattr(client, method)(path)
    assert (response.status_code, response.get_data(as_text=True)) == (status, body)
    assert response.content_type == "application/json"


def test_health_is_503_once_stopping(client):
    server.stopping.value = 1
    try:
        response = client.get("/health")
        assert (response.status_code, response.get_data(as_text=True)) == (
            503,
            '{"status":"stopping","runtime":"python","framework":"flask"}',
        )
        assert client.get("/fib?n=10").status_code == 200
    finally:
        server.stopping.value = 0


def test_405_names_allowed_methods(client):
    assert client.delete("/id").headers["Allow"] == "GET, HEAD"


def test_ids_increase(client):
    first, second = (json.loads(client.get("/id").data)["id"] for _ in range(2))
    assert first < second


def sample(text: str, series: str) -> float:
    """The value of the sample line starting with `series`, 0 when absent."""
    values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(series + " ")]
    return values[0] if values else 0.0


def test_metrics_count_by_route_template(client):
    series = [
        'http_server_request_duration_seconds_count{method="GET",route="/fib",status="200"}',
        'http_server_request_duration_seconds_count{method="DELETE",route="/fib",status="405"}',
        'http_server_request_duration_seconds_count{method="_OTHER",route="unmatched",status="404"}',
    ]
    before = client.get("/metrics").get_data(as_text=True)
    client.get("/fib?n=1")
    client.delete("/fib")
    client.open("/a/b", method="BREW")
    client.post("/metrics")
    after = client.get("/metrics").get_data(as_text=True)
    assert [sample(after, s) - sample(before, s) for s in series] == [1, 1, 1]
    assert sample(after, "http_server_active_requests") == 0
    assert 'refserver_build_info{framework="flask",runtime="python",' in after
    assert 'route="/metrics"' not in after


def test_unexpected_error_is_json_500(client, monkeypatch):
    def boom(n):
        raise RuntimeError("boom")

    monkeypatch.setattr("refcommon.work.fib", boom)
    response = client.get("/fib?n=1")
    assert (response.status_code, response.data) == (500, b'{"error":"internal error"}')


def test_paths_match_exactly(client):
    """Werkzeug would route "//fib" as "/fib"; the server answers 404 as the others do."""
    environ = EnvironBuilder(path="/x").get_environ()
    environ["PATH_INFO"] = "//fib"
    response = client.open(environ)
    assert (response.status_code, response.data) == (404, b'{"error":"not found"}')


def test_metrics_route_of_a_leading_double_slash_is_unmatched(client):
    series = 'http_server_request_duration_seconds_count{method="GET",route="unmatched",status="404"}'
    before = sample(client.get("/metrics").get_data(as_text=True), series)
    environ = EnvironBuilder(path="/x").get_environ()
    environ["PATH_INFO"] = "//metrics"
    assert client.open(environ).status_code == 404
    assert sample(client.get("/metrics").get_data(as_text=True), series) - before == 1


def test_metrics_duration_covers_the_handler(client):
    """The recorded duration of /compute is at least the prime loop's, which the handler
    measures itself (Server-Timing), and at most the test's own time around the request."""
    series = '{method="GET",route="/compute",status="200"}'
    before = client.get("/metrics").get_data(as_text=True)
    started = time.perf_counter()
    response = client.get("/compute?n=200000")
    elapsed = time.perf_counter() - started
    compute = float(response.headers["Server-Timing"].split("dur=")[1]) / 1e3
    after = client.get("/metrics").get_data(as_text=True)
    name = "http_server_request_duration_seconds"
    assert sample(after, f"{name}_count{series}") - sample(before, f"{name}_count{series}") == 1
    recorded = sample(after, f"{name}_sum{series}") - sample(before, f"{name}_sum{series}")
    assert compute <= recorded <= elapsed, (compute, recorded, elapsed)


def test_metrics_leave_no_request_in_the_environ():
    """The middleware takes back the Request it had Flask leave in the environ: no reference
    cycle environ -> request -> environ is left for the garbage collector."""
    environ = EnvironBuilder(path="/id").get_environ()
    started = []
    body = server.app(environ, lambda status, headers, exc_info=None: started.append(status))
    assert started == ["200 OK"] and b"".join(body).startswith(b'{"id":')
    assert not [key for key in environ if key.startswith("refserver.")]
