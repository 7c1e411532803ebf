"""Real cgroup v1 helpers for tests and tools: kubelet-shaped pod and container cgroups
(cgroupfs driver: kubepods/<qos>/pod<uid>/<64 hex>), processes started inside them, and removal
of everything that was made, also on failure."""
import os
import secrets
import signal
import subprocess
import time
import uuid

CONTROLLERS = ("cpu", "cpuacct", "memory", "pids")


def v1_mounts():
    """controller -> mount point, from /proc/self/mountinfo (never assumed)."""
    mounts = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            if fields[sep + 1] != "cgroup":
                continue
            for opt in fields[sep + 3].split(","):
                if opt not in ("rw", "ro") and "=" not in opt:
                    mounts[opt] = fields[4]
    return mounts


def wait_empty(dirs, timeout=10.0):
    # Killed tasks can linger briefly: wait until every cgroup.procs is empty.
    deadline = time.monotonic() + timeout
    for d in dirs:
        while os.path.isdir(d) and time.monotonic() < deadline:
            try:
                with open(os.path.join(d, "cgroup.procs")) as f:
                    if not f.read().strip():
                        break
            except OSError:
                break
            time.sleep(0.02)


class Container:
    """One container cgroup of a pod. Use through KubepodsPod.container()."""

    def __init__(self, pod, container_id=None):
        self.pod = pod
        self.id = container_id or secrets.token_hex(32)
        self.dirs = {c: os.path.join(d, self.id) for c, d in pod.dirs.items()}
        self.procs = []
        for d in self.dirs.values():
            os.mkdir(d)

    def write(self, controller, name, value):
        with open(os.path.join(self.dirs[controller], name), "w") as f:
            f.write(str(value))

    def read(self, controller, name):
        with open(os.path.join(self.dirs[controller], name)) as f:
            return f.read()

    def procs_files(self):
        return [os.path.join(d, "cgroup.procs") for d in sorted(set(self.dirs.values()))]

    def spawn(self, argv, **kw):
        """Starts argv inside the container (a shell joins every cgroup, then execs argv)."""
        joins = " ".join(f"echo $$ > {p};" for p in self.procs_files())
        return self.spawn_raw(["sh", "-c", joins + ' exec "$@"', "sh", *argv], **kw)

    def spawn_raw(self, argv, **kw):
        """Starts argv as is; it must join the cgroups itself (e.g. tests' launch_in_cgroup)."""
        p = subprocess.Popen(argv, start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def kill(self):
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        wait_empty(self.dirs.values())

    def remove(self):
        self.kill()
        for d in self.dirs.values():
            try:
                os.rmdir(d)
            except FileNotFoundError:
                pass
        if self in self.pod.containers:
            self.pod.containers.remove(self)


class KubepodsPod:
    """kubepods/<qos>/pod<uuid> in the given controllers, as a context manager."""

    def __init__(self, controllers=CONTROLLERS, qos="burstable"):
        mounts = v1_mounts()
        missing = [c for c in controllers if c not in mounts]
        if missing:
            raise RuntimeError(f"cgroup v1 controllers not mounted: {missing}")
        self.uid = str(uuid.uuid4())
        self.rel = f"kubepods/{qos}/pod{self.uid}"
        self.dirs = {c: os.path.join(mounts[c], self.rel) for c in controllers}
        self.created = []
        self.containers = []

    def __enter__(self):
        try:
            for d in sorted(set(self.dirs.values())):
                parts = d.split("/")
                for i in range(len(parts) - 2, len(parts) + 1):
                    p = "/".join(parts[:i])
                    if p and not os.path.isdir(p):
                        os.mkdir(p)
                        self.created.append(p)
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc):
        self.cleanup()

    def container(self, container_id=None):
        c = Container(self, container_id)
        self.containers.append(c)
        return c

    def cleanup(self):
        for c in list(self.containers):
            try:
                c.remove()
            except OSError:
                pass
        for p in sorted(self.created, key=len, reverse=True):
            try:
                os.rmdir(p)
            except OSError:
                pass
        self.created = []


class KubepodsContainer(Container):
    """A pod with one container: kubepods/<qos>/pod<uuid>/<64 hex>."""

    def __init__(self, controllers=CONTROLLERS, qos="burstable"):
        self._pod = KubepodsPod(controllers, qos)
        self.pod_uid = self._pod.uid

    def __enter__(self):
        self._pod.__enter__()
        try:
            Container.__init__(self, self._pod)
            self._pod.containers.append(self)
        except BaseException:
            self._pod.cleanup()
            raise
        self.container_id = self.id
        self.rel = f"{self._pod.rel}/{self.id}"
        return self

    def __exit__(self, *exc):
        self._pod.cleanup()


def podlist(pods, node="lab"):
    """A kubelet /pods PodList for [(pod, name, namespace, [(container name, container, restarts)])]."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    items = []
    for pod, name, namespace, containers in pods:
        items.append({
            "metadata": {"name": name, "namespace": namespace, "uid": pod.uid,
                         "creationTimestamp": now, "labels": {"app.kubernetes.io/name": name}},
            "spec": {"nodeName": node, "containers": [{"name": n} for n, _, _ in containers]},
            "status": {"phase": "Running", "qosClass": "Burstable", "startTime": now,
                       "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now},
                                      {"type": "PodScheduled", "status": "True",
                                       "lastTransitionTime": now}],
                       "containerStatuses": [
                           {"name": n, "containerID": "containerd://" + c.id, "image": n + ":test",
                            "ready": True, "restartCount": r,
                            "state": {"running": {"startedAt": now}}}
                           for n, c, r in containers]}})
    return {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items}
