"""http_server_request_duration_seconds of the Python reference servers, kept in shared memory
that the gunicorn master makes before the workers fork (this module is loaded by the master:
preload_app), a slot per worker, instead of prometheus_client's multiprocess files.

A slot holds a table of series: a series' label values (method, route, status) and its values,
the non-cumulative bucket counts (the last one +Inf) and the sum. Only the worker holding the
slot writes it, so recording a request is two plain stores (its bucket, the sum): no lock, no
getpid, no file — prometheus_client took all three per value (docs/performance.md, "Reference
servers"). A new series is written into the table first and then counted in the slot's header,
so a scrape, summing every slot's series by their label values, sees only whole keys.

A slot is never cleared: a worker that dies leaves its counts in it, and the worker that gets
the slot next continues them (it reads the table's series back on attach), so no scrape goes
backwards. A slot has room for a fixed number of series; requests of a series that has no room
are counted (overflow) and shown in the exposition, never silently dropped."""

import bisect
import multiprocessing
import sys

from prometheus_client.core import Metric
from prometheus_client.utils import floatToGoString

NAME = "http_server_request_duration_seconds"
HELP = "Duration of HTTP requests handled by the application."
LABELS = ("method", "route", "status")
OVERFLOW_NAME = "refcommon_request_series_overflow"
OVERFLOW_HELP = "Requests left out of http_server_request_duration_seconds: their worker's table of series was full."
KEY_BYTES = 64  # the label values, NUL-separated, NUL-padded (those of these servers: ≤ 23 bytes)
_HEADER = 2  # per slot: series in the table, requests in overflow


class RequestDurations:
    def __init__(self, buckets, slots: int, series_per_slot: int):
        self.buckets = tuple(float(b) for b in buckets)
        self._stride = len(self.buckets) + 2  # the buckets, +Inf, the sum
        self._slots = slots
        self._series_max = series_per_slot
        self._header = multiprocessing.RawArray("q", slots * _HEADER)
        self._keys = multiprocessing.RawArray("c", slots * series_per_slot * KEY_BYTES)
        self._raw_values = multiprocessing.RawArray("d", slots * series_per_slot * self._stride)
        self._values = memoryview(self._raw_values).cast("B").cast("d")  # faster to index than ctypes
        self.attach(0)

    def attach(self, slot: int) -> None:
        """Makes this process the writer of `slot` (a worker, after its fork), continuing the
        series a dead worker left in it."""
        self.slot = slot
        self._bases = {}  # label values -> index of the series' first value in _values
        for i, (method, route, status) in enumerate(self._slot_keys(slot)):
            self._bases[(method, route, int(status))] = self._base(slot, i)

    def observe(self, key: tuple, seconds: float) -> None:
        """Records one request of the series `key`: (method label, route, status code)."""
        base = self._bases.get(key)
        if base is None:
            base = self._add_series(key)
            if base is None:
                self._header[self.slot * _HEADER + 1] += 1
                return
        values = self._values
        values[base + bisect.bisect_left(self.buckets, seconds)] += 1.0  # le is inclusive
        values[base + self._stride - 1] += seconds

    def _add_series(self, key: tuple):
        """The base of a new series of key in this process's slot; None when it has no room."""
        method, route, status = key
        encoded = f"{method}\0{route}\0{status}".encode()
        count = self._header[self.slot * _HEADER]
        if count >= self._series_max or len(encoded) > KEY_BYTES or encoded.count(b"\0") != 2:
            if self._header[self.slot * _HEADER + 1] == 0:
                print(f"refserver: no room for the series {key} of {NAME} in slot {self.slot}; "
                      f"counted in {OVERFLOW_NAME}_total", file=sys.stderr, flush=True)
            return None
        start = (self.slot * self._series_max + count) * KEY_BYTES
        self._keys[start:start + KEY_BYTES] = encoded.ljust(KEY_BYTES, b"\0")
        self._header[self.slot * _HEADER] = count + 1  # after the key: a scrape sees it whole
        base = self._bases[key] = self._base(self.slot, count)
        return base

    def _base(self, slot: int, series: int) -> int:
        return (slot * self._series_max + series) * self._stride

    def _slot_keys(self, slot: int) -> list:
        count = min(self._header[slot * _HEADER], self._series_max)
        start = slot * self._series_max * KEY_BYTES
        raw = self._keys[start:start + count * KEY_BYTES]
        return [tuple(raw[i * KEY_BYTES:(i + 1) * KEY_BYTES].rstrip(b"\0").decode().split("\0"))
                for i in range(count)]

    def totals(self) -> dict:
        """{label values: [bucket counts…, +Inf count, sum]} summed over every slot, in the
        order the series first appear."""
        totals: dict = {}
        for slot in range(self._slots):
            for i, key in enumerate(self._slot_keys(slot)):
                base = self._base(slot, i)
                values = self._values[base:base + self._stride].tolist()
                total = totals.get(key)
                if total is None:
                    totals[key] = values
                else:
                    totals[key] = [a + b for a, b in zip(total, values)]
        return totals

    def overflow(self) -> int:
        return sum(self._header[slot * _HEADER + 1] for slot in range(self._slots))

    def collect(self):
        """A prometheus_client collector: the family as prometheus_client's multiprocess mode
        rendered it (per series its _sum, the cumulative _bucket samples, _count), and the
        overflow counter when it is not 0."""
        family = Metric(NAME, HELP, "histogram")
        bounds = [floatToGoString(b) for b in self.buckets] + ["+Inf"]
        for key, values in self.totals().items():
            labels = dict(zip(LABELS, key))
            family.add_sample(NAME + "_sum", labels, values[-1])
            cumulative = 0.0
            for bound, count in zip(bounds, values[:-1]):
                cumulative += count
                family.add_sample(NAME + "_bucket", {**labels, "le": bound}, cumulative)
            family.add_sample(NAME + "_count", labels, cumulative)
        yield family
        overflow = self.overflow()
        if overflow:
            counter = Metric(OVERFLOW_NAME, OVERFLOW_HELP, "counter")
            counter.add_sample(OVERFLOW_NAME + "_total", {}, float(overflow))
            yield counter
