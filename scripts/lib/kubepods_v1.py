"""Real cgroup v1 helpers for tests and tools: make kubelet-shaped pod/container cgroups, put
processes in them, and always remove what was made."""
import os
import signal
import subprocess
import time
import uuid
import secrets


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


class KubepodsContainer:
    """kubepods/burstable/pod<uuid>/<64 hex> in the given v1 controllers; a context manager that
    kills every process it started and removes every directory it created, also on failure."""

    def __init__(self, controllers=("cpu", "cpuacct", "memory", "pids"), qos="burstable"):
        mounts = v1_mounts()
        missing = [c for c in controllers if c not in mounts]
        if missing:
            raise RuntimeError(f"cgroup v1 controllers not mounted: {missing}")
        self.pod_uid = str(uuid.uuid4())
        self.container_id = secrets.token_hex(32)
        self.rel = f"kubepods/{qos}/pod{self.pod_uid}/{self.container_id}"
        self.dirs = {c: os.path.join(mounts[c], self.rel) for c in controllers}
        self.created = []
        self.procs = []

    def __enter__(self):
        try:
            for d in sorted(set(self.dirs.values())):
                parts = d.split("/")
                for i in range(len(parts) - 4, len(parts) + 1):
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

    def write(self, controller, name, value):
        with open(os.path.join(self.dirs[controller], name), "w") as f:
            f.write(str(value))

    def read(self, controller, name):
        with open(os.path.join(self.dirs[controller], name)) as f:
            return f.read()

    def spawn(self, argv, **kw):
        """Starts argv inside the container cgroup (it joins before exec)."""
        joins = " ".join(f"echo $$ > {os.path.join(d, 'cgroup.procs')};"
                         for d in sorted(set(self.dirs.values())))
        p = subprocess.Popen(["sh", "-c", joins + ' exec "$@"', "sh", *argv],
                             start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def cleanup(self):
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        # Killed tasks can linger briefly: wait until every cgroup.procs is empty.
        deadline = time.monotonic() + 10
        for d in self.dirs.values():
            while os.path.isdir(d) and time.monotonic() < deadline:
                with open(os.path.join(d, "cgroup.procs")) as f:
                    if not f.read().strip():
                        break
                time.sleep(0.02)
        for p in sorted(self.created, key=len, reverse=True):
            try:
                os.rmdir(p)
            except OSError:
                pass
        self.created = []
