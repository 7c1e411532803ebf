"""Helpers for the tests of scripts/cluster's one-node Kubernetes: running scripts/cluster and
kubectl, and what `down` must give back to the host (a snapshot before `up`, leftovers after)."""
import glob
import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLUSTER = os.path.join(ROOT, "scripts", "cluster")
STATE = "/var/lib/podmeter-cluster"
RUN = "/run/podmeter-cluster"
CACHE = os.environ.get("PODMETER_CLUSTER_CACHE", "/var/cache/podmeter/cluster")
CGROUP_ROOT = "podmeter-node"
BRIDGE = "pmbr0"
NODE_IP = "198.18.0.1"
# The sysctls the kubelet, the bridge CNI plugin and kube-proxy may change.
SYSCTLS = ["vm.overcommit_memory", "vm.panic_on_oom", "kernel.panic", "kernel.panic_on_oops",
           "kernel.keys.root_maxkeys", "kernel.keys.root_maxbytes", "net.ipv4.ip_forward",
           "net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables",
           "net.ipv4.conf.all.route_localnet", "net.netfilter.nf_conntrack_max"]
HOST_PATHS = ["/var/lib/kubelet", "/var/log/containers", "/var/log/pods", "/var/lib/cni",
              "/run/netns", "/var/run/nri",
              "/usr/libexec/kubernetes", "/etc/cni", "/opt/cni"]


def cluster(*args, timeout=300, check=True):
    res = subprocess.run([CLUSTER, *args], capture_output=True, text=True, timeout=timeout)
    if check:
        assert res.returncode == 0, f"scripts/cluster {' '.join(args)}:\n{res.stdout}\n{res.stderr}"
    return res


def kubectl(*args, timeout=120, check=True, input=None):
    res = subprocess.run([CLUSTER, "kubectl", *args], capture_output=True, text=True,
                         timeout=timeout, input=input)
    if check:
        assert res.returncode == 0, f"kubectl {' '.join(args)}:\n{res.stdout}\n{res.stderr}"
    return res.stdout


def kubectl_json(*args):
    return json.loads(kubectl(*args, "-o", "json"))


def _sysctl(name):
    try:
        with open("/proc/sys/" + name.replace(".", "/")) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


BUILTIN_CHAINS = {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}


def _iptables_chains():
    """User-defined chains ("<tool> <table> <chain>") and every rule ("<tool> <table> -A …").
    A table's built-in chains are not listed: with the nf_tables backend a fresh machine has no
    tables at all until the node creates them, and they stay (empty) after `down`."""
    chains = set()
    for tool in ("iptables-save", "ip6tables-save"):
        try:
            out = subprocess.run([tool], capture_output=True, text=True).stdout
        except FileNotFoundError:  # not installed yet (`up` installs it): no chains at all
            continue
        table = None
        for line in out.splitlines():
            if line.startswith("*"):
                table = line[1:]
            elif line.startswith(":") and line[1:].split()[0] not in BUILTIN_CHAINS:
                chains.add(f"{tool.split('-')[0]} {table} {line[1:].split()[0]}")
            elif line.startswith("-A "):
                chains.add(f"{tool.split('-')[0]} {table} {line}")
    return chains


def _links():
    out = subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True).stdout
    return {link["ifname"] for link in json.loads(out)}


def host_snapshot():
    """What `down` must give back: sysctls, host paths, iptables chains, network links."""
    return {
        "sysctls": {name: _sysctl(name) for name in SYSCTLS},
        "paths": {p: os.path.exists(p) for p in HOST_PATHS},
        "chains": _iptables_chains(),
        "links": _links(),
    }


def leftovers(before):
    """Everything of the cluster still on the host, as readable strings (empty: nothing)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            continue
        if exe.startswith(CACHE + "/"):
            found.append(f"process {pid} {exe}")
    for path in glob.glob(f"/sys/fs/cgroup/*/{CGROUP_ROOT}") + glob.glob(
            f"/sys/fs/cgroup/{CGROUP_ROOT}"):
        found.append(f"cgroup {path}")
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mount_point = line.split()[4]
            if mount_point.startswith((STATE, RUN, "/var/lib/kubelet", "/run/netns/cni-")):
                found.append(f"mount {mount_point}")
    if os.path.isdir("/run/netns"):
        found += [f"netns {n}" for n in os.listdir("/run/netns") if n.startswith("cni-")]
    if os.path.exists(RUN):
        found.append(f"directory {RUN}")
    now = host_snapshot()
    found += [f"link {name}" for name in sorted(now["links"] - before["links"])]
    found += [f"iptables chain {c}" for c in sorted(now["chains"] - before["chains"])]
    found += [f"iptables chain {c}" for c in sorted(now["chains"])
              if c.split()[2].startswith(("KUBE-", "CNI-")) or "KUBE-" in c or "CNI-" in c]
    found += [f"sysctl {k}={now['sysctls'][k]} (was {v})"
              for k, v in before["sysctls"].items() if now["sysctls"][k] != v]
    found += [f"path {p} (existed before: {v})"
              for p, v in before["paths"].items() if now["paths"][p] != v]
    return sorted(set(found))
