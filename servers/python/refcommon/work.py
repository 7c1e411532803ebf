"""The work behind each endpoint: the same algorithms as rust/common/src/work.rs and
go/refcommon/work.go."""

import hashlib
import multiprocessing
import re

COMPUTE_CAP = 10_000_000
PAYLOAD_CAP = 100_000
FIB_CAP = 40
HASH_CAP = 100_000

HASH_SEED = b"podmeter"  # input of /hash

_INTEGER = re.compile(r"-?[0-9]+")


class BadParam(ValueError):
    """A query parameter that is not an integer in range; str() is the error text."""


def int_param(raw: str | None, name: str, default: int, cap: int) -> int:
    """The non-negative integer `raw` of parameter `name`, or `default` when absent."""
    if raw is None:
        return default
    if not _INTEGER.fullmatch(raw):
        raise BadParam(f"{name} must be an integer")
    value = int(raw)
    if value < 0:
        raise BadParam(f"{name} must not be negative")
    if value > cap:
        raise BadParam(f"{name} must be at most {cap}")
    return value


def count_primes(n: int) -> int:
    """Counts primes <= n by trial division up to the square root of each k."""
    count = 0
    for k in range(2, n + 1):
        prime = True
        d = 2
        while d * d <= k:
            if k % d == 0:
                prime = False
                break
            d += 1
        if prime:
            count += 1
    return count


def fib(n: int) -> int:
    """Naive recursive Fibonacci: fib(0) = 0, fib(1) = 1."""
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def hash_rounds(rounds: int) -> str:
    """SHA-256 applied `rounds` times to HASH_SEED, as lowercase hex."""
    data = HASH_SEED
    for _ in range(rounds):
        data = hashlib.sha256(data).digest()
    return data.hex()


def payload(size: int) -> list[dict]:
    """The `size` deterministic objects of /payload."""
    return [
        {"id": i, "name": f"item-{i}", "value": i * 7919 % 10007, "tags": [f"tag-{i % 5}", f"group-{i % 3}"]}
        for i in range(size)
    ]


SNOWFLAKE_EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
MACHINE_ID_MAX = 1023


def machine_id(raw: str | None) -> int:
    """The MACHINE_ID setting (default 0); ValueError when out of range."""
    if not raw:
        return 0
    if not raw.isascii() or not raw.isdigit() or int(raw) > MACHINE_ID_MAX:
        raise ValueError(f"MACHINE_ID must be an integer 0..={MACHINE_ID_MAX}")
    return int(raw)


class Snowflake:
    """63-bit ids: 41 bits of milliseconds since the epoch, 10 bits machine id, 12 bits
    sequence. When 4096 ids are taken in one millisecond the next ones borrow the
    following millisecond instead of sleeping, so ids stay unique and increasing even if
    the clock goes back.

    The state lives in shared memory under a process-shared lock, so the gunicorn workers
    forked from the process that created it draw from one sequence, as one instance.
    """

    def __init__(self, machine_id: int):
        self._machine_id = machine_id
        self._lock = multiprocessing.Lock()
        self._state = multiprocessing.RawArray("q", 2)  # last millisecond, sequence

    def next(self, now_unix_ms: int) -> int:
        """Next id, given the wall clock in milliseconds since the Unix epoch."""
        with self._lock:
            last, seq = self._state
            now = max(now_unix_ms - SNOWFLAKE_EPOCH_MS, 0, last)
            if now > last:
                last, seq = now, 0
            elif seq < 4095:
                seq += 1
            else:
                last, seq = last + 1, 0
            self._state[:] = [last, seq]
            return last << 22 | self._machine_id << 12 | seq
