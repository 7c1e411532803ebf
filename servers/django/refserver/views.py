"""Endpoints. Every route answers GET and HEAD only, and every error is JSON."""

import functools
import json
import os
import time

from django.http import HttpResponse
from refcommon import work
from refcommon.master import stopping

from . import metrics

ids = work.Snowflake(work.machine_id(os.environ.get("MACHINE_ID")))


def json_response(body, status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(body, separators=(",", ":")), status=status, content_type="application/json")


def error(status: int, message: str) -> HttpResponse:
    return json_response({"error": message}, status)


def get_only(view):
    """Answers other methods with 405, bad parameters (work.BadParam) with 400, HEAD without body."""

    @functools.wraps(view)
    def wrapper(request):
        if request.method not in ("GET", "HEAD"):
            response = error(405, "method not allowed")
            response["Allow"] = "GET, HEAD"
            return response
        try:
            response = view(request)
        except work.BadParam as e:
            response = error(400, str(e))
        if request.method == "HEAD":
            response.content = b""  # as net/http and hyper drop it; gunicorn would warn
        return response

    return wrapper


def param(request, name: str, default: int, cap: int) -> int:
    """Query parameter `name`; the first occurrence wins, as in the Rust and Go servers."""
    values = request.GET.getlist(name)
    return work.int_param(values[0] if values else None, name, default, cap)


@get_only
def health(request):
    """200 "ok", or 503 "stopping" once shutdown has begun (so readiness fails while the
    server still serves during SHUTDOWN_DELAY_SECONDS)."""
    if stopping.value:
        return json_response({"status": "stopping", "runtime": "python", "framework": "django"}, 503)
    return json_response({"status": "ok", "runtime": "python", "framework": "django"})


@get_only
def compute(request):
    """Adds "Server-Timing: compute;dur=<ms>": the time of the prime loop alone."""
    n = param(request, "n", 50_000, work.COMPUTE_CAP)
    start = time.perf_counter()
    primes = work.count_primes(n)
    millis = (time.perf_counter() - start) * 1e3
    response = json_response({"n": n, "primes": primes})
    response["Server-Timing"] = f"compute;dur={millis:.4f}"
    return response


@get_only
def payload(request):
    return json_response(work.payload(param(request, "size", 1000, work.PAYLOAD_CAP)))


@get_only
def fib(request):
    n = param(request, "n", 30, work.FIB_CAP)
    return json_response({"n": n, "result": work.fib(n)})


@get_only
def hash_(request):
    rounds = param(request, "rounds", 100, work.HASH_CAP)
    return json_response({"rounds": rounds, "hash": work.hash_rounds(rounds)})


@get_only
def id_(request):
    return json_response({"id": ids.next(time.time_ns() // 1_000_000)})


ROUTES = {
    "/health": health,
    "/compute": compute,
    "/payload": payload,
    "/fib": fib,
    "/hash": hash_,
    "/id": id_,
    "/metrics": get_only(metrics.metrics_view),
}


def bad_request(request, exception):
    return error(400, "bad request")


def not_found(request, exception):
    return error(404, "not found")


def server_error(request):
    return error(500, "internal error")
