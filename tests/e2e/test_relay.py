"""podmeter relays the three real reference servers' request metrics, joined to their pods:
after a known request sequence the relayed http_server_request_duration_seconds series equal each
server's own output exactly (plus the pod labels), and they disappear when the pod goes away.
All traffic is on 127.0.0.1."""
import json
import os
import signal
import subprocess
import time
import urllib.request

import pytest

from harness import ROOT, free_port, parse, running_podmeter, scrape

SERVERS = ("rust", "go", "django")
FAMILY = "http_server_request_duration_seconds"


def get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read().decode()


def write_podlist(path, servers):
    items = []
    for name, port in servers.items():
        items.append({
            "metadata": {"name": f"{name}-api-0", "namespace": "bench", "uid": f"{name}-uid-0000",
                         "annotations": {"podmeter.io/scrape": "true", "podmeter.io/port": str(port)}},
            "spec": {"nodeName": "lab", "containers": [{"name": "server"}]},
            "status": {"phase": "Running", "podIP": "127.0.0.1", "qosClass": "Burstable",
                       "containerStatuses": [{"name": "server", "restartCount": 0, "ready": True}]}})
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"kind": "PodList", "apiVersion": "v1", "items": items}, f)
    os.rename(tmp, path)


def family_samples(samples, pod=None):
    """{(name, labels without namespace/pod/container): value} of the relayed family."""
    out = {}
    for (name, labels), v in samples.items():
        if not name.startswith(FAMILY):
            continue
        d = dict(labels)
        if pod is not None:
            if d.get("pod") != pod or d.get("namespace") != "bench" or d.get("container") != "server":
                continue
            for k in ("namespace", "pod", "container"):
                d.pop(k)
        out[(name, tuple(sorted(d.items())))] = v
    return out


def assert_promtool_clean(text):
    """The whole scrape, podmeter's own families and every relayed one, passes promtool's lint."""
    for family in (FAMILY, "refserver_build_info", "podmeter_relay_up", "podmeter_build_info"):
        assert f"# TYPE {family} " in text, f"{family} missing from the scrape"
    res = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                         text=True, timeout=60)
    problems = (res.stdout + res.stderr).strip()
    assert res.returncode == 0 and not problems, problems or f"promtool exit {res.returncode}"


def test_promtool_lint_catches_problems():
    """The lint check above can fail: promtool reports a counter without _total and help."""
    with pytest.raises(AssertionError, match="_total"):
        assert_promtool_clean(f"# TYPE {FAMILY} histogram\n# TYPE refserver_build_info gauge\n"
                              "# TYPE podmeter_relay_up gauge\n# TYPE podmeter_build_info gauge\n"
                              "# TYPE requests counter\nrequests 1\n")


@pytest.fixture(scope="module")
def servers():
    subprocess.run([os.path.join(ROOT, "servers", "build"), "all"], check=True, timeout=900)
    procs, ports = {}, {}
    try:
        for name in SERVERS:
            ports[name] = free_port()
            env = dict(os.environ, PORT=str(ports[name]), HOST="127.0.0.1", REFSERVER_PREBUILT="1")
            procs[name] = subprocess.Popen([os.path.join(ROOT, "servers", "run"), name], env=env,
                                           start_new_session=True, stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        for name, port in ports.items():
            while True:
                try:
                    get(f"http://127.0.0.1:{port}/health")
                    break
                except OSError:
                    assert time.monotonic() < deadline, f"{name} did not start"
                    time.sleep(0.1)
        yield ports
    finally:
        for p in procs.values():
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(p.pid, signal.SIGKILL)


def test_relayed_series_equal_the_servers_own(servers, tmp_path):
    pods_file = str(tmp_path / "pods.json")
    write_podlist(pods_file, servers)
    for name, port in servers.items():  # a known request sequence
        for path in ("/health", "/compute?n=1000", "/compute?n=1000", "/fib?n=10", "/nope",
                     "/compute?n=-1"):
            try:
                get(f"http://127.0.0.1:{port}{path}")
            except urllib.error.HTTPError:
                pass
    with running_podmeter("--pods-file", pods_file, "--interval", "0.3",
                          "--relay-host", "127.0.0.1") as base:
        # No requests from here on: the servers' own series stay as they are, and the relay
        # (a round every 0.3 s) must come to exactly them; 15 s only guards against a hang.
        owns = {name: family_samples(parse(get(f"http://127.0.0.1:{port}/metrics")))
                for name, port in servers.items()}
        deadline = time.monotonic() + 15
        while True:
            relayed = parse(scrape(base))
            if all(family_samples(relayed, pod=f"{n}-api-0") == owns[n] for n in servers) or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.1)
        for name, port in servers.items():
            own = family_samples(parse(get(f"http://127.0.0.1:{port}/metrics")))
            assert own == owns[name], name  # scrapes of /metrics are not counted
            got = family_samples(relayed, pod=f"{name}-api-0")
            assert own, f"{name} exposes no {FAMILY}"
            assert got == own, name
            assert relayed[("podmeter_relay_up", (("namespace", "bench"),
                                                  ("pod", f"{name}-api-0")))] == 1
        assert_promtool_clean(scrape(base))

        # The go pod goes away: its relayed series go with it.
        write_podlist(pods_file, {k: v for k, v in servers.items() if k != "go"})
        deadline = time.monotonic() + 3
        while family_samples(parse(scrape(base)), pod="go-api-0"):
            assert time.monotonic() < deadline, "relayed series of a gone pod still exported"
            time.sleep(0.1)
        assert family_samples(parse(scrape(base)), pod="rust-api-0")
