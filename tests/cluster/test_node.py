"""The one-node cluster itself: Ready, every address in 198.18.0.0/15, pods running on the real
kubelet and containerd, kube-proxy's Services, metrics-server, the kubelet's authorization."""
import ipaddress
import os
import subprocess
import time

from cluster_lib import CGROUP_ROOT, NODE_IP, STATE, cluster, kubectl, kubectl_json

BENCH_RANGE = ipaddress.ip_network("198.18.0.0/15")
POD_CIDR = ipaddress.ip_network("198.18.1.0/24")
SERVICE_CIDR = ipaddress.ip_network("198.19.0.0/24")
CA = f"{STATE}/pki/ca.crt"

PAUSE_DEPLOYMENT = """
apiVersion: v1
kind: Namespace
metadata: {name: cluster-test}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: pause, namespace: cluster-test}
spec:
  replicas: 2
  selector: {matchLabels: {app: pause}}
  template:
    metadata: {labels: {app: pause}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: pause
          image: podmeter.local/pause:3.10
          imagePullPolicy: Never
          resources:
            requests: {cpu: 10m, memory: 8Mi}
            limits: {cpu: 10m, memory: 8Mi}
"""

# A reader of the kubelet's /pods with nothing but `nodes/pods get` (KubeletFineGrainedAuthz,
# beta and on by default since 1.33), and one without any grant.
KUBELET_READER = """
apiVersion: v1
kind: ServiceAccount
metadata: {name: pods-reader, namespace: cluster-test}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: nobody, namespace: cluster-test}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: cluster-test-kubelet-pods}
rules: [{apiGroups: [""], resources: [nodes/pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: cluster-test-kubelet-pods}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-test-kubelet-pods}
subjects: [{kind: ServiceAccount, name: pods-reader, namespace: cluster-test}]
"""


def test_node_is_ready_on_the_bridge_address(node):
    [n] = kubectl_json("get", "nodes")["items"]
    ready = {c["type"]: c["status"] for c in n["status"]["conditions"]}["Ready"]
    assert ready == "True"
    addresses = {a["type"]: a["address"] for a in n["status"]["addresses"]}
    assert addresses["InternalIP"] == NODE_IP
    assert n["status"]["nodeInfo"]["kubeletVersion"] == "v1.34.4"
    assert n["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://2.")
    # The apiserver advertises the node IP, not the host's interface address.
    ep = kubectl_json("get", "endpoints", "kubernetes", "-n", "default")
    assert [a["ip"] for a in ep["subsets"][0]["addresses"]] == [NODE_IP]
    svc = kubectl_json("get", "service", "kubernetes", "-n", "default")
    assert ipaddress.ip_address(svc["spec"]["clusterIP"]) in SERVICE_CIDR


def test_second_up_finds_everything_running_and_status_says_so(node):
    res = cluster("up", timeout=600)
    for name in ("etcd", "containerd", "kube-apiserver", "kube-controller-manager",
                 "kube-scheduler", "kubelet", "kube-proxy", "metrics-server"):
        assert f"{name}: already running" in res.stdout, res.stdout
    status = cluster("status")
    assert "node podmeter-node" in status.stdout and "Ready" in status.stdout, status.stdout
    assert "UNHEALTHY" not in status.stdout and "not running" not in status.stdout


def test_a_deployment_runs_on_the_real_kubelet(node):
    kubectl("apply", "-f", "-", input=PAUSE_DEPLOYMENT)
    kubectl("rollout", "status", "-n", "cluster-test", "deployment/pause", "--timeout=120s",
            timeout=150)
    pods = kubectl_json("get", "pods", "-n", "cluster-test", "-l", "app=pause")["items"]
    assert len(pods) == 2
    for pod in pods:
        assert ipaddress.ip_address(pod["status"]["podIP"]) in POD_CIDR
        assert pod["status"]["qosClass"] == "Guaranteed"
        # The kubelet's cgroupfs layout under our cgroupRoot, the container a leaf of the pod.
        uid = pod["metadata"]["uid"]
        [status] = pod["status"]["containerStatuses"]
        container_id = status["containerID"].removeprefix("containerd://")
        leaf = f"/sys/fs/cgroup/memory/{CGROUP_ROOT}/kubepods/pod{uid}/{container_id}"
        assert os.path.isdir(leaf), leaf
        with open(f"{leaf}/memory.limit_in_bytes") as f:
            assert int(f.read()) == 8 * 1024 * 1024


def test_the_kubernetes_service_answers_through_kube_proxy(node):
    svc = kubectl_json("get", "service", "kubernetes", "-n", "default")
    ip = svc["spec"]["clusterIP"]
    res = subprocess.run(["curl", "-sS", "--max-time", "5", "--cacert", CA,
                          f"https://{ip}:443/readyz"], capture_output=True, text=True)
    assert res.stdout == "ok", res.stdout + res.stderr


def test_metrics_server_answers_kubectl_top(node):
    out = kubectl("top", "node", "--no-headers")
    name, cpu, cpu_pct, memory, memory_pct = out.split()
    assert name == "podmeter-node" and cpu.endswith("m") and memory.endswith("Mi"), out


def _get_kubelet_pods(token):
    return subprocess.run(
        ["curl", "-sS", "--max-time", "5", "--cacert", CA, "-o", "/dev/null", "-w", "%{http_code}",
         "-H", f"Authorization: Bearer {token}", f"https://{NODE_IP}:10250/pods"],
        capture_output=True, text=True)


def test_kubelet_pods_needs_only_nodes_pods_and_verifies_against_the_cluster_ca(node):
    kubectl("apply", "-f", "-", input=PAUSE_DEPLOYMENT)  # the namespace
    kubectl("apply", "-f", "-", input=KUBELET_READER)
    reader = kubectl("create", "token", "pods-reader", "-n", "cluster-test").strip()
    nobody = kubectl("create", "token", "nobody", "-n", "cluster-test").strip()
    # curl verifies the kubelet's serving certificate (node IP SAN) against the cluster CA.
    deadline = time.monotonic() + 15  # the binding reaches the apiserver's RBAC cache
    while (res := _get_kubelet_pods(reader)).stdout != "200" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert res.stdout == "200", res.stdout + res.stderr
    assert _get_kubelet_pods(nobody).stdout == "403"
