"""Endpoints of the Flask server. Every route answers GET and HEAD only (Flask adds HEAD
to GET routes; its automatic OPTIONS is off), and every error is JSON. Loaded once in the
gunicorn master (preload_app): the id generator's shared state is created before the
workers fork. The request metrics are a WSGI middleware around the app (track)."""

import json
import os
import time

from flask import Flask, Response, request
from refcommon import prom, work
from refcommon.master import stopping
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

prom.set_build_info("flask")

_REQUEST = "refserver.request"  # the environ key of the request's Flask Request, for track


class TrackedFlask(Flask):
    """Flask leaving each request's Request in the environ, where track reads its matched rule
    after the response (and removes it)."""

    def request_context(self, environ):
        context = super().request_context(environ)
        environ[_REQUEST] = context.request
        return context


# With REQUEST_METRICS=off nothing is recorded: a plain Flask, not wrapped (track, below).
app = TrackedFlask(__name__) if prom.REQUESTS else Flask(__name__)
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
def paths_match_exactly():
    """Werkzeug strips leading slashes before routing ("//fib" would be "/fib"); paths match
    exactly in every reference server."""
    if request.environ.get("PATH_INFO", "").startswith("//"):
        request.url_rule, request.routing_exception = None, NotFound()
        raise request.routing_exception


def route_template(request) -> str:
    """The route label of a request Flask has handled."""
    if request.url_rule is not None:
        return request.url_rule.rule
    if isinstance(request.routing_exception, MethodNotAllowed):
        return request.path  # the path matched a route (exact paths), not its methods
    return "unmatched"


def track(wsgi_app):
    """WSGI middleware: records duration (routing, hooks, handler, error handlers: until the
    response is ready) and in-flight count of every request except /metrics. Around the app
    rather than in before/after_request hooks: no Werkzeug context proxy, no `g`; the route
    comes from the Request that TrackedFlask.request_context left in the environ."""

    def tracked(environ, start_response):
        if environ.get("PATH_INFO") == "/metrics":
            return wsgi_app(environ, start_response)
        started = time.perf_counter()
        prom.ACTIVE.inc()
        status = []

        def start(line, headers, exc_info=None):
            status.append(line)
            return start_response(line, headers, exc_info)

        try:
            body = wsgi_app(environ, start)
            method = environ["REQUEST_METHOD"].upper()  # as Werkzeug's request.method
            prom.observe(method, route_template(environ[_REQUEST]), int(status[-1][:3]), time.perf_counter() - started)
            return body
        finally:
            environ.pop(_REQUEST, None)  # no cycle environ -> request -> environ left behind
            prom.ACTIVE.dec()

    return tracked


if prom.REQUESTS:
    app.wsgi_app = track(app.wsgi_app)


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
