"""Endpoints of the Flask server. Every route answers GET and HEAD only (Flask adds HEAD
to GET routes; its automatic OPTIONS is off), and every error is JSON. Loaded once in the
gunicorn master (preload_app): the id generator's shared state is created before the
workers fork."""

import json
import os
import time

from flask import Flask, Response, g, request
from refcommon import prom, work
from refcommon.master import stopping
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

prom.set_build_info("flask")

app = Flask(__name__)
app.url_map.merge_slashes = False  # paths match exactly: "//fib" is unknown, not a redirect
ids = work.Snowflake(work.machine_id(os.environ.get("MACHINE_ID")))


def json_response(body, status: int = 200) -> Response:
    # Not jsonify: it sorts keys and appends a newline; the bodies must be the same bytes
    # as the other servers'.
    return Response(json.dumps(body, separators=(",", ":")), status=status, mimetype="application/json")


def error(status: int, message: str) -> Response:
    return json_response({"error": message}, status)


def route(path: str):
    return app.get(path, provide_automatic_options=False)


def param(name: str, default: int, cap: int) -> int:
    """Query parameter `name`; the first occurrence wins, as in the other servers."""
    values = request.args.getlist(name)
    return work.int_param(values[0] if values else None, name, default, cap)


@app.before_request
def start_tracking():
    """Records duration and in-flight count of every request except /metrics (with
    finish_tracking; Flask calls both for routing errors and error handlers too; nothing
    with REQUEST_METRICS=off)."""
    if request.path == "/metrics":
        return
    if prom.REQUESTS:
        g.started = time.perf_counter()
        prom.ACTIVE.inc()
    if request.environ.get("PATH_INFO", "").startswith("//"):
        # Werkzeug strips leading slashes before routing ("//fib" would be "/fib"); paths
        # match exactly in every reference server.
        request.url_rule, request.routing_exception = None, NotFound()
        raise request.routing_exception


@app.after_request
def finish_tracking(response: Response) -> Response:
    if not prom.REQUESTS:
        return response
    started = g.pop("started", None)
    if started is not None:
        if request.url_rule is not None:
            template = request.url_rule.rule
        elif isinstance(request.routing_exception, MethodNotAllowed):
            template = request.path  # the path matched a route (exact paths), not its methods
        else:
            template = "unmatched"
        prom.observe(request.method, template, response.status_code, time.perf_counter() - started)
        prom.ACTIVE.dec()
    return response


@app.errorhandler(work.BadParam)
def bad_param(e: work.BadParam):
    return error(400, str(e))


@app.errorhandler(MethodNotAllowed)
def method_not_allowed(e: MethodNotAllowed):
    response = error(405, "method not allowed")
    response.headers["Allow"] = "GET, HEAD"
    return response


@app.errorhandler(HTTPException)
def http_error(e: HTTPException):
    """Any other HTTP error Werkzeug raises (404, 400 for a malformed request, …)."""
    return error(e.code or 500, (e.name or "error").lower())


@app.errorhandler(Exception)
def internal_error(e: Exception):
    app.logger.exception("error serving %s", request.path)
    return error(500, "internal error")


@route("/health")
def health():
    """200 "ok", or 503 "stopping" once shutdown has begun (so readiness fails while the
    server still serves during SHUTDOWN_DELAY_SECONDS)."""
    if stopping.value:
        return json_response({"status": "stopping", "runtime": "python", "framework": "flask"}, 503)
    return json_response({"status": "ok", "runtime": "python", "framework": "flask"})


@route("/compute")
def compute():
    """Adds "Server-Timing: compute;dur=<ms>": the time of the prime loop alone."""
    n = param("n", 50_000, work.COMPUTE_CAP)
    start = time.perf_counter()
    primes = work.count_primes(n)
    millis = (time.perf_counter() - start) * 1e3
    response = json_response({"n": n, "primes": primes})
    response.headers["Server-Timing"] = f"compute;dur={millis:.4f}"
    return response


@route("/payload")
def payload():
    return json_response(work.payload(param("size", 1000, work.PAYLOAD_CAP)))


@route("/fib")
def fib():
    n = param("n", 30, work.FIB_CAP)
    return json_response({"n": n, "result": work.fib(n)})


@route("/hash")
def hash_():
    rounds = param("rounds", 100, work.HASH_CAP)
    return json_response({"rounds": rounds, "hash": work.hash_rounds(rounds)})


@route("/id")
def id_():
    return json_response({"id": ids.next(time.time_ns() // 1_000_000)})


@route("/metrics")
def metrics():
    return Response(prom.exposition(), content_type=prom.CONTENT_TYPE)
