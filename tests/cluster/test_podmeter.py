"""podmeter's DaemonSet from k8s/base, unchanged, on the real node: it reads the kubelet's /pods
over verified TLS with nodes/pods only, finds the pods' cgroups under the kubelet's cgroupRoot,
and its numbers agree with the kernel's and the kubelet's for a CPU-limited container and a
container killed with SIGKILL."""
import os
import re
import subprocess
import time
import urllib.request

import pytest

from cluster_lib import CGROUP_ROOT, ROOT, cluster, kubectl, kubectl_json

IMAGES = os.environ.get("PODMETER_IMAGES_SCRIPT", os.path.join(ROOT, "scripts", "images"))
IMAGES_DIR = os.environ.get("PODMETER_IMAGES_DIR", "/var/cache/podmeter/images")
SOCKET = "/run/podmeter-cluster/containerd/containerd.sock"
CTR = "/var/cache/podmeter/cluster/bin/ctr"
NS = "podmeter-bench"

# A container spinning on one core under a 50m limit (Guaranteed), in the django-api image, the
# project's image that has an interpreter.
SPINNER = """
apiVersion: v1
kind: Namespace
metadata: {name: cluster-test}
---
apiVersion: v1
kind: Pod
metadata: {name: spinner, namespace: cluster-test}
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: spin
      image: django-api:dev
      imagePullPolicy: Never
      command: ["/app/.venv/bin/python", "-c", "while True: pass"]
      resources:
        requests: {cpu: 50m, memory: 64Mi}
        limits: {cpu: 50m, memory: 64Mi}
"""


def images(*args):
    res = subprocess.run([IMAGES, *args], capture_output=True, text=True, timeout=1800,
                         env={**os.environ, "PODMETER_CTR": CTR})
    assert res.returncode == 0, f"scripts/images {' '.join(args)}:\n{res.stdout}\n{res.stderr}"


def scrape(url):
    """{(name, frozenset(labels)): value} of a Prometheus text exposition."""
    with urllib.request.urlopen(url, timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)", line)
        if m:
            labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
            out[(m.group(1), labels)] = float(m.group(4))
    return out


def series(metrics, name, **labels):
    want = set(labels.items())
    return [v for (n, ls), v in metrics.items() if n == name and want <= set(ls)]


def wait_until(what, check, seconds):
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {seconds} s waiting for {what}"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def podmeter(node):
    if not os.access(IMAGES, os.X_OK):
        pytest.skip(f"{IMAGES} is not in this tree (the images branch)")
    images("build", "podmeter")  # this tree's podmeter
    if not os.path.exists(os.path.join(IMAGES_DIR, "django-api.tar")):
        images("build", "django-api")
    images("import", "--address", SOCKET, "podmeter", "django-api")
    kubectl("apply", "-k", os.path.join(ROOT, "k8s", "base"))
    kubectl("rollout", "status", "-n", NS, "daemonset/podmeter", "--timeout=120s", timeout=150)
    [pod] = kubectl_json("get", "pods", "-n", NS, "-l", "app.kubernetes.io/name=podmeter")["items"]
    return f"http://{pod['status']['podIP']}:10101/metrics", pod["metadata"]["name"]


def test_podmeter_reads_the_kubelet_with_verified_tls_and_names_pods(podmeter):
    url, name = podmeter
    metrics = wait_until("podmeter_pod_info of its own pod",
                         lambda: (m := scrape(url)) and series(m, "podmeter_pod_info", pod=name)
                         and m, 30)
    errors = series(metrics, "podmeter_pod_source_errors_total")
    assert sum(errors) == 0, [k for k in metrics if k[0] == "podmeter_pod_source_errors_total"]
    logs = kubectl("logs", "-n", NS, name)
    assert "tls" not in logs.lower() or "verif" not in logs.lower(), logs


def _container_leaf(pod, hierarchy):
    [status] = pod["status"]["containerStatuses"]
    cid = status["containerID"].removeprefix("containerd://")
    return f"/sys/fs/cgroup/{hierarchy}/{CGROUP_ROOT}/kubepods/pod{pod['metadata']['uid']}/{cid}"


def test_cpu_limited_container_shows_its_limit_and_rising_throttling(podmeter):
    url, _ = podmeter
    kubectl("apply", "-f", "-", input=SPINNER)
    kubectl("wait", "-n", "cluster-test", "pod/spinner", "--for=condition=Ready", "--timeout=60s",
            timeout=90)
    pod = kubectl_json("get", "pod", "-n", "cluster-test", "spinner")
    leaf = _container_leaf(pod, "cpuacct")
    labels = dict(namespace="cluster-test", pod="spinner", container="spin")
    wait_until("podmeter's spinner series",
               lambda: series(scrape(url), "podmeter_container_cpu_usage_seconds_total",
                              **labels), 30)
    time.sleep(3)  # past the start-up burst

    def sample():
        m = scrape(url)
        with open(f"{leaf}/cpuacct.usage") as f:
            kernel = int(f.read()) / 1e9
        [usage] = series(m, "podmeter_container_cpu_usage_seconds_total", **labels)
        [throttled] = series(m, "podmeter_container_cpu_cfs_throttled_periods_total", **labels)
        [limit] = series(m, "podmeter_container_cpu_limit_cores", **labels)
        return time.monotonic(), usage, throttled, limit, kernel

    t0, u0, th0, limit, k0 = sample()
    time.sleep(10)
    t1, u1, th1, _, k1 = sample()
    podmeter_rate = (u1 - u0) / (t1 - t0)
    kernel_rate = (k1 - k0) / (t1 - t0)
    print(f"\nspinner: podmeter {podmeter_rate:.4f} cores, cpuacct {kernel_rate:.4f} cores, "
          f"throttled periods +{th1 - th0:.0f}")
    assert limit == pytest.approx(0.050)
    assert podmeter_rate == pytest.approx(0.050, abs=0.005)
    assert th1 - th0 >= 50  # ~100 periods in 10 s, nearly all throttled


def test_a_sigkilled_container_counts_one_restart(podmeter):
    url, _ = podmeter
    kubectl("apply", "-f", "-", input=SPINNER.replace("name: spinner", "name: victim"))
    kubectl("wait", "-n", "cluster-test", "pod/victim", "--for=condition=Ready", "--timeout=60s",
            timeout=90)
    pod = kubectl_json("get", "pod", "-n", "cluster-test", "victim")
    labels = dict(namespace="cluster-test", pod="victim", container="spin")
    wait_until("podmeter's victim series",
               lambda: series(scrape(url), "podmeter_container_cpu_usage_seconds_total",
                              **labels), 30)
    with open(f"{_container_leaf(pod, 'pids')}/cgroup.procs") as f:
        pids = [int(p) for p in f.read().split()]
    assert pids
    for pid in pids:
        os.kill(pid, 9)
    wait_until("restartCount 1", lambda: kubectl_json(
        "get", "pod", "-n", "cluster-test", "victim")["status"]["containerStatuses"][0]
        ["restartCount"] == 1, 30)
    m = wait_until("podmeter's restart", lambda: (m := scrape(url)) and series(
        m, "podmeter_container_restarts_total", **labels) == [1.0] and m, 15)
    assert series(m, "podmeter_container_kubelet_restarts", **labels) == [1.0]
