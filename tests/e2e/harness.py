"""Helpers shared by the end-to-end tests: start podmeter, scrape it, parse the exposition."""
import contextlib
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
GOLDEN = os.path.join(ROOT, "tests", "golden")
# A python3 -c program that waits for a line on stdin, then touches 64 MiB a page at a time (an
# OOM kill under a smaller memory limit) and says "survived" if it was not killed.
ALLOCATE = ("import sys\n"
            "sys.stdin.readline()\n"
            "chunks = []\n"
            "for _ in range(64):\n"
            "    b = bytearray(1 << 20)\n"
            "    for i in range(0, len(b), 4096): b[i] = 1\n"
            "    chunks.append(b)\n"
            "print('survived', flush=True)\n")


def podmeter_bin():
    path = os.environ.get("PODMETER_BIN", os.path.join(ROOT, "build", "exporter", "podmeter"))
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"podmeter binary not found at {path}: build first (scripts/test)")
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5.0, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read(), dict(resp.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


@contextlib.contextmanager
def running_podmeter(*args, ready_timeout=15.0, wrapper=()):
    """Starts podmeter on a free loopback port (through `wrapper`, e.g. setpriv, when given);
    yields its base URL once /healthz is 200."""
    port = free_port()
    proc = subprocess.Popen([*wrapper, podmeter_bin(), "--listen", f"127.0.0.1:{port}", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"podmeter exited with {proc.returncode}: {proc.stdout.read()}")
            try:
                if http_get(base + "/healthz", timeout=1)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("podmeter did not become healthy in time")
            time.sleep(0.05)
        yield base
    finally:
        stop_process(proc)


def stop_process(proc, grace=10):
    """SIGTERM, up to `grace` seconds to exit, then SIGKILL; always reaps it."""
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def scrape(base):
    status, body, _ = http_get(base + "/metrics")
    assert status == 200, status
    return body.decode()


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{(name, ((label, value), ...)): float} for every sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        assert m, f"unparseable line: {line!r}"
        labels = tuple(sorted(_LABEL.findall(m.group(3) or "")))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def value(samples, name, **labels):
    want = tuple(sorted(labels.items()))
    matches = [v for (n, l), v in samples.items() if n == name and all(x in l for x in want)]
    assert len(matches) == 1, f"{name}{labels}: {len(matches)} matches"
    return matches[0]
