"""The metrics middleware and view of the Django server; the metrics themselves are the
shared ones of refcommon.prom (multiprocess mode, summed over the gunicorn workers)."""

import time

from django.http import HttpResponse
from refcommon import prom

prom.set_build_info("django")


def track(get_response):
    """Middleware: records duration and in-flight count of every request except /metrics
    (nothing with REQUEST_METRICS=off)."""

    def middleware(request):
        if not prom.REQUESTS or request.path_info == "/metrics":
            return get_response(request)
        prom.ACTIVE.inc()
        start = time.perf_counter()
        response = get_response(request)  # Django turns exceptions into responses
        match = request.resolver_match
        route = "/" + match.route if match else "unmatched"
        prom.observe(request.method, route, response.status_code, time.perf_counter() - start)
        prom.ACTIVE.dec()
        return response

    return middleware


def metrics_view(request):
    return HttpResponse(prom.exposition(), content_type=prom.CONTENT_TYPE)
