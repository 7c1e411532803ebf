"""`podmeter-lab run --cluster --profile tiny` on the real node: every scenario through the
Kubernetes API (k8s/base's Deployments, Services, HPAs and podmeter's DaemonSet), k6 against the
NodePorts. Each scenario yields numbers for rust, go and django; the HPA scales Django up; the
rolling update ends with the new ReplicaSet Ready; the squeezed Django fails its liveness
probe and podmeter counts every restart; the cluster is as it was before the run."""
import glob
import json
import os
import subprocess
import time

import pytest

from cluster_lib import ROOT, kubectl_json

LAB = os.environ.get("PODMETER_LAB", os.path.join(ROOT, "build", "lab", "podmeter-lab"))
IMAGES = os.path.join(ROOT, "scripts", "images")
IMAGES_DIR = os.environ.get("PODMETER_IMAGES_DIR", "/var/cache/podmeter/images")
SOCKET = "/run/podmeter-cluster/containerd/containerd.sock"
CTR = "/var/cache/podmeter/cluster/bin/ctr"
RUNTIMES = {"rust", "go", "django"}


def images(*args):
    res = subprocess.run([IMAGES, *args], capture_output=True, text=True, timeout=1800,
                         env={**os.environ, "PODMETER_CTR": CTR})
    assert res.returncode == 0, f"scripts/images {' '.join(args)}:\n{res.stdout}\n{res.stderr}"


def cluster_state():
    """What the run must give back: the objects of every namespace it could touch, with the
    Deployments' and HPAs' specs (status, resourceVersion and timestamps change by themselves)."""
    state = {"namespaces": sorted(n["metadata"]["name"]
                                  for n in kubectl_json("get", "namespaces")["items"])}
    for kind in ("deployments", "horizontalpodautoscalers", "daemonsets", "services",
                 "serviceaccounts"):
        items = kubectl_json("get", kind, "-A")["items"]
        state[kind] = sorted(
            (i["metadata"]["namespace"], i["metadata"]["name"],
             json.dumps(i["spec"], sort_keys=True) if kind in (
                 "deployments", "horizontalpodautoscalers") else "")
            for i in items)
    for kind in ("clusterroles", "clusterrolebindings"):
        state[kind] = sorted(i["metadata"]["name"] for i in kubectl_json("get", kind)["items"]
                             if "podmeter" in i["metadata"]["name"])
    return state


@pytest.fixture(scope="module")
def lab_run(node, tmp_path_factory):
    if not os.access(LAB, os.X_OK):
        pytest.skip(f"{LAB} is not built")
    images("build", "podmeter")
    for server in ("django-api", "go-api", "rust-api"):
        if not os.path.exists(os.path.join(IMAGES_DIR, f"{server}.tar")):
            images("build", server)
    images("import", "--address", SOCKET, "podmeter", "django-api", "go-api", "rust-api")
    before = cluster_state()
    results = tmp_path_factory.mktemp("cluster-lab")
    started = time.monotonic()
    # --max-replicas 4: ten Django pods do not fit beside the node, podmeter and k6 on 2 cores.
    res = subprocess.run([LAB, "--repo", ROOT, "run", "--cluster", "--profile", "tiny",
                          "--cold-starts", "2", "--max-replicas", "4", "--results", str(results)],
                         capture_output=True, text=True, timeout=1800)
    print(f"\npodmeter-lab run --cluster: {time.monotonic() - started:.0f} s, exit "
          f"{res.returncode}\n{res.stdout[-6000:]}\n{res.stderr[-3000:]}")
    [run_dir] = glob.glob(str(results / "*"))
    with open(os.path.join(run_dir, "summary.json")) as f:
        summary = json.load(f)
    return res, summary, before, cluster_state(), run_dir


def scenario(summary, name):
    [sc] = [s for s in summary["scenarios"] if s["scenario"] == name]
    return sc


def test_the_run_succeeds_and_gives_the_cluster_back(lab_run):
    res, summary, before, after, run_dir = lab_run
    assert res.returncode == 0, res.stderr
    assert summary["mode"] == "cluster"
    assert after == before
    for name in ("summary.md", "report.html", "cluster-applied.yaml"):
        assert os.path.getsize(os.path.join(run_dir, name)) > 0, name


@pytest.mark.parametrize("name", ["compute-scaling", "load", "payload", "spike", "soak",
                                  "squeeze", "hpa", "pod-kill", "rolling-update"])
def test_every_k6_scenario_has_numbers_for_the_three_runtimes(lab_run, name):
    _, summary, _, _, _ = lab_run
    rows = scenario(summary, name)["k6"]["rows"]
    assert {r["runtime"] for r in rows} == RUNTIMES
    for r in rows:
        assert r["requests"] > 0, r
        assert r["max_ms"] > 0, r
        # A refused connection takes 0 ms: when more than 5 % of the requests failed (the
        # squeezed Django while its liveness probe restarts it: 96 % refused), p95 is one of them.
        assert r["p95_ms"] > 0 or r["failed_rate"] > 0.05, r


def test_interference_spikes_go_and_django_at_once(lab_run):
    _, summary, _, _, _ = lab_run
    rows = scenario(summary, "interference")["k6"]["rows"]
    assert {r["runtime"] for r in rows} == {"go", "django"}
    assert all(r["requests"] > 0 for r in rows)


def test_cold_start_times_scheduled_to_ready_and_exec_to_listen(lab_run):
    _, summary, _, _, _ = lab_run
    cold = scenario(summary, "cold-start")
    assert {r["runtime"] for r in cold["runtimes"]} == RUNTIMES
    for r in cold["runtimes"]:
        assert r["scheduled_to_ready_seconds"]["count"] == 2, r
        # Whole seconds from the API; at least the first readiness probe's answer.
        assert 0 <= r["scheduled_to_ready_seconds"]["median"] < 60, r
        assert r["self_reported_seconds"]["count"] == 2, r


def test_cold_start_exec_to_listen_from_podmeter(lab_run):
    _, summary, _, _, _ = lab_run
    for r in scenario(summary, "cold-start")["runtimes"]:
        assert r["exec_to_listen_seconds"] is not None, r
        assert 0 < r["exec_to_listen_seconds"]["median"] < r["scale_to_ready_seconds"]["max"], r


def test_hpa_scales_django_up_under_load(lab_run):
    _, summary, _, _, _ = lab_run
    hpa = {r["app"]: r for r in scenario(summary, "hpa")["hpa"]}
    django = hpa["django-api"]
    assert django["scale_ups"] >= 1, django
    assert django["max_pods"] > django["pods_at_start"], django
    assert django["max_replicas"] == 4
    assert django["cpu_utilization_peak_percent"] > 50, django


def test_rolling_update_ends_with_the_new_replicaset_ready(lab_run):
    _, summary, _, _, _ = lab_run
    for r in scenario(summary, "rolling-update")["k6"]["rows"]:
        rollout = r["rollout"]
        assert rollout["rolled_out"], r
        # 2 replicas, or more when the HPA (active throughout) scaled the app meanwhile.
        assert rollout["new_ready"] == rollout["new_replicas"] >= 2, r
        assert rollout["old_replicas_left"] == 0, r
        assert r["requests_before"] > 0 and r["requests_during"] > 0, r


def test_pod_kill_both_ways_recovers(lab_run):
    _, summary, _, _, _ = lab_run
    rows = scenario(summary, "pod-kill")["k6"]["rows"]
    assert {(r["runtime"], r["kill"]) for r in rows} == {
        (rt, how) for rt in RUNTIMES for how in ("delete", "sigkill")}
    for r in rows:
        assert r["killed"], r
        assert r["recovery_seconds_ready"] is not None and r["recovery_seconds_ready"] > 0, r


def test_squeezed_django_fails_its_liveness_probe_and_podmeter_counts_every_restart(lab_run):
    """At 50m under 20 VUs Django's liveness probe fails (the kubelet's Unhealthy events). Three
    failures in a row, and so a restart, need it busy for 20 s, which the Service's readiness
    gating makes a matter of chance (docs/lab.md): every restart the kubelet made is counted by
    podmeter. test_podmeter's pod that never answers its first liveness probes proves the restart
    itself."""
    _, summary, _, _, _ = lab_run
    sq = scenario(summary, "squeeze")
    django = [k for k in sq["kubelet"] if k["app"] == "django-api"]
    assert django and sum(k["liveness_failures"] for k in django) >= 1, sq["kubelet"]
    for k in sq["kubelet"]:
        assert k["liveness_failures"] >= 3 * k["liveness_kills"], k  # three in a row per kill
    # A container killed late in the squeeze may not have restarted yet (its grace period, the
    # back-off): every restart the kubelet has made, podmeter has counted (the lab waits up to
    # 15 s after the scenario for podmeter to learn of one made just before its end).
    podmeter = {p["pod"]: p["restarts"] for p in sq["podmeter"]}
    for k in sq["kubelet"]:
        assert podmeter[k["pod"]] >= k["restarts_during"], (k, podmeter)