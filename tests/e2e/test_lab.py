"""podmeter-lab run on this machine with the tiny profile (every scenario for a few seconds): the
three reference Deployments as pods in real cgroups, podmeter, Prometheus and k6; checks the
summary against what the scenarios did to the pods, and that everything is removed."""
import math
import os
import re
import subprocess

import pytest

from harness import ROOT
from kubepods_v1 import v1_mounts

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or "memory" not in v1_mounts(), reason="needs root and cgroup v1 (memory)")

LAB = os.path.join(ROOT, "build", "lab", "podmeter-lab")


@pytest.fixture(scope="module")
def tiny_run(lab_tiny_run):
    return lab_tiny_run


def scenario(summary, name):
    [s] = [s for s in summary["scenarios"] if s["scenario"] == name]
    return s


def test_every_runtime_has_numbers(tiny_run):
    summary, _, run_dir = tiny_run
    pods = {p["app"]: p for p in summary["pods"]}
    assert set(pods) == {"rust-api", "go-api", "django-api"}
    for app, p in pods.items():
        # podmeter's exec→listen and the server's own figure are both there.
        assert 0 < p["startup_seconds"] < 30, (app, p)
        assert 0 < p["self_reported_startup_seconds"] < 30, (app, p)
        assert p["idle_working_set_bytes"] > 0 and p["idle_rss_bytes"] > 0, (app, p)
    rows = {r["runtime"]: r for r in scenario(summary, "load")["k6"]["rows"]}
    assert set(rows) == {"rust", "go", "django"}
    for runtime, r in rows.items():
        assert r["requests"] > 0 and r["p95_ms"] > 0, (runtime, r)
    assert os.path.exists(os.path.join(run_dir, "summary.md"))
    assert os.path.isdir(os.path.join(run_dir, "prometheus"))
    # The image-size row: each app's image as scripts/images measured it, or why not.
    images = {i["runtime"]: i for i in summary["images"]}
    assert set(images) == {"rust", "go", "django"}, images
    for runtime, i in images.items():
        assert i["image"] == f"{runtime}-api:dev", i
        assert i.get("unpacked_bytes", 0) > i.get("layer_gzip_bytes", 0) > 0 or \
            "scripts/images build" in i["error"], i


def test_pod_kill_restart_is_counted(tiny_run):
    summary, _, _ = tiny_run
    # Restarts of the pods at rest: the pod-kill's SIGKILL, and the liveness kills within the
    # scenarios (the squeeze's; a kill decided just after a scenario ended is in none).
    liveness = {}
    for sc in summary["scenarios"]:
        for k in sc.get("kubelet", []):
            liveness[k["pod"]] = liveness.get(k["pod"], 0) + k.get("liveness_kills", 0)
    for p in summary["pods"]:
        assert p["kubelet_restarts"] >= 1 + liveness.get(p["pod"], 0), (p, liveness)
        assert p["restarts_observed"] == p["kubelet_restarts"], p  # podmeter saw each new id
    for row in scenario(summary, "pod-kill")["k6"]["rows"]:
        assert row["pod_kill"]["recovery_seconds"] >= 0


def test_squeeze_throttles_at_50m(tiny_run):
    summary, _, _ = tiny_run
    s = scenario(summary, "squeeze")
    for p in s["podmeter"]:
        # How often a 50m quota binds depends on how hard k6 can push on a busy 2-core CI
        # machine (0.17 to 0.9 seen for rust): the quota must bind, the fraction is the load's.
        assert p["throttled_ratio"] > 0.05, p
        # Under a 50m quota no runtime can use more than 0.05 cores over the scenario.
        assert p["cpu_seconds"] <= 0.05 * s["seconds"] * 1.1, (p, s["seconds"])


def test_squeezed_django_is_restarted_by_liveness_and_podmeter_counts_it(tiny_run):
    """k8s/base's liveness probe (5 s delay, every 10 s, 2 s timeout, 3 failures) as the kubelet
    runs it: Django at 50m behind 20 VUs cannot answer /health in 2 s, so within the 45 s
    squeeze the lab kills its container (SIGTERM, SIGKILL after the 10 s grace) and restarts
    it; podmeter sees the new container (also test_pod_kill_restart_is_counted)."""
    summary, _, _ = tiny_run
    sq = scenario(summary, "squeeze")
    killed = [k for k in sq["kubelet"] if k["app"] == "django-api" and k["liveness_kills"] >= 1]
    assert killed, sq["kubelet"]
    podmeter = {p["pod"]: p["restarts"] for p in sq["podmeter"]}
    for k in killed:
        assert k["liveness_failures"] >= 3 * k["liveness_kills"], k  # three in a row per kill
        # A kill late in the squeeze (third failure up to ~35 s in, then up to the 10 s grace)
        # may restart the container after the scenario: test_pod_kill_restart_is_counted sees
        # that restart at the end of the run. Every restart within the squeeze podmeter saw.
        assert podmeter[k["pod"]] >= k["restarts_during"], (k, podmeter)
    assert "Mode: lab" in open(os.path.join(tiny_run[2], "summary.md")).read()
    assert summary["host"]["server_cpus"] == "0" and summary["host"]["k6_cpus"] == "1"


def test_pod_list_timestamps_are_whole_seconds(tiny_run):
    """As a kubelet writes them: RFC 3339 without a fraction."""
    _, _, run_dir = tiny_run
    text = open(os.path.join(run_dir, "pods.json")).read()
    stamps = re.findall(r'"(?:startedAt|finishedAt|lastTransitionTime|startTime|'
                        r'creationTimestamp)": "([^"]*)"', text)
    assert stamps, text[:2000]
    for t in stamps:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", t), t


RUNTIMES = {"rust", "go", "django"}


def test_cold_start_five_fresh_pods_per_runtime(tiny_run):
    summary, _, _ = tiny_run
    cold = scenario(summary, "cold-start")
    assert cold["end"] > cold["start"]
    runtimes = {r["runtime"]: r for r in cold["runtimes"]}
    assert set(runtimes) == RUNTIMES
    main_pods = {p["pod"] for p in summary["pods"]}
    for runtime, r in runtimes.items():
        assert len(r["starts"]) == 5, r
        pods = [s["pod"] for s in r["starts"]]
        assert len(set(pods)) == 5 and not set(pods) & main_pods, pods  # a fresh pod each time
        for s in r["starts"]:
            assert "error" not in s, s
            # podmeter's exec→listen, the server's own main→listen, and exec→ready (the first
            # successful probe, 1 s period) in the order they must come.
            assert 0 < s["exec_to_listen_seconds"] < 20, s
            assert 0 < s["self_reported_seconds"] < 20, s
            assert s["self_reported_seconds"] <= s["exec_to_listen_seconds"] + 0.005, s
            assert s["exec_to_listen_seconds"] <= s["exec_to_ready_seconds"] < 30, s
        for key in ("exec_to_listen_seconds", "exec_to_ready_seconds", "self_reported_seconds"):
            spread = r[key]
            assert spread["count"] == 5, (runtime, key, spread)
            assert spread["min"] <= spread["median"] <= spread["max"], (runtime, key, spread)
    # Django's interpreter and gunicorn take far longer to listen than either binary (~500 ms
    # against ~10 ms here). The fastest of the five starts is the one least delayed by other
    # work on a shared CI machine (a median of 117 ms was seen for Go under load 10).
    assert (runtimes["django"]["exec_to_listen_seconds"]["min"]
            > 3 * max(runtimes["rust"]["exec_to_listen_seconds"]["min"],
                      runtimes["go"]["exec_to_listen_seconds"]["min"])), runtimes


def test_soak_memory_slope_and_verdict(tiny_run):
    summary, _, run_dir = tiny_run
    checks = {c["runtime"]: c for c in summary["leak_check"]}
    assert set(checks) == RUNTIMES, summary["leak_check"]
    soak = scenario(summary, "soak")
    for runtime, c in checks.items():
        lo, hi = c["load_window"]
        assert soak["start"] - 3 <= lo < hi <= soak["end"] + 3, (runtime, c, soak)
        assert c["fitted_window"][0] > lo  # the warm-up is left out
        for key in ("rss", "working_set"):
            fit = c[key]
            assert fit["samples"] >= 5, (runtime, key, fit)
            assert 0 <= fit["r2"] <= 1, (runtime, key, fit)
            assert fit["mean_mib"] > 0.1, (runtime, key, fit)
            assert abs(fit["slope_mib_per_hour"] * 1048576 / 3600
                       - fit["slope_bytes_per_second"]) < 1e-6 * max(1, abs(fit["slope_bytes_per_second"]))
        assert c["verdict"] in ("stable", "growing (possible leak)"), c
    md = open(os.path.join(run_dir, "summary.md")).read()
    assert "## Soak: memory trend" in md and "soak RSS slope" in md


def test_cost_projection_for_100_rps(tiny_run):
    summary, _, run_dir = tiny_run
    cost = {c["runtime"]: c for c in summary["cost_projection"]}
    assert set(cost) == RUNTIMES, summary["cost_projection"]
    load = scenario(summary, "load")
    cpu = {p["app"]: p["cpu_seconds"] for p in load["podmeter"]}
    requests = {r["runtime"]: r["requests"] for r in load["k6"]["rows"]}
    for runtime, c in cost.items():
        assert "error" not in c, c
        assert c["cpu_limit_cores"] == 0.5  # the manifests' 500m, restored after the squeeze
        per_cpu_s = requests[runtime] / cpu[runtime + "-api"]
        assert c["requests_per_cpu_second"] == pytest.approx(per_cpu_s, rel=1e-9)
        assert c["requests_per_second_per_pod"] == pytest.approx(per_cpu_s * 0.5, rel=1e-9)
        assert c["pods"] == max(1, math.ceil(100 / (per_cpu_s * 0.5))), c
        assert 0.1 < c["mib_per_pod"] < 512, c
        assert c["memory_mib"] == pytest.approx(c["pods"] * c["mib_per_pod"])
    # The interpreter needs more pods (and far more memory) than either compiled server.
    assert cost["django"]["pods"] > max(cost["rust"]["pods"], cost["go"]["pods"])
    assert cost["django"]["memory_mib"] > 5 * max(cost["rust"]["memory_mib"], cost["go"]["memory_mib"])
    md = open(os.path.join(run_dir, "summary.md")).read()
    assert "## Cost projection: 100 req/s" in md and "pods for 100 req/s" in md


def test_everything_is_removed(tiny_run):
    _, stdout, _ = tiny_run
    assert "removed the cgroups" in stdout
    assert not os.path.exists(os.path.join(v1_mounts()["memory"], "kubepods"))
    # Each pod's own PROMETHEUS_MULTIPROC_DIR went with its pod.
    volumes = os.path.join(tiny_run[2], "volumes")
    assert not os.path.isdir(volumes) or os.listdir(volumes) == [], os.listdir(volumes)


def test_lab_clean_and_clear_errors():
    res = subprocess.run([LAB, "clean"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    res = subprocess.run([LAB, "run", "--replicas", "0"], capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.strip()
    res = subprocess.run([LAB, "run", "--scenarios", "nope"], capture_output=True, text=True)
    assert res.returncode == 2 and "unknown scenario" in res.stderr
    res = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                          LAB, "run"], capture_output=True, text=True)
    assert res.returncode == 1 and "as root" in res.stderr
