"""A private containerd for the image tests (own root, state and socket; CRI off), built like the
cluster's when it is not there yet, and everything it leaves behind removed when it stops."""
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IMAGES = os.path.join(ROOT, "scripts", "images")
# The cluster's containerd v2 (scripts/cluster build puts it there; scripts/images' default ctr).
CONTAINERD_VERSION = "v2.4.2"
CONTAINERD_BIN = os.environ.get("PODMETER_CONTAINERD_BIN",
                                f"/var/cache/podmeter/cluster/containerd-{CONTAINERD_VERSION}/bin")
CGROUP_PARENT = "podmeter-images-test"  # our own top-level cgroup in every hierarchy
NAMESPACE = "k8s.io"
# Where the shims and runc keep state whatever containerd's own state directory is.
SHIM_DIRS = ("/run/containerd/s", "/run/containerd/fifo", f"/run/containerd/runc/{NAMESPACE}",
             "/run/containerd/runc", "/run/containerd")


def ensure_containerd():
    """containerd, its runc shim and ctr (built once with go install, like the cluster's) and
    Debian's runc. Returns the directory of the containerd binaries."""
    wanted = ("containerd", "containerd-shim-runc-v2", "ctr")
    if not all(os.access(os.path.join(CONTAINERD_BIN, b), os.X_OK) for b in wanted):
        # As scripts/cluster build does it, into a temporary directory renamed when complete.
        os.makedirs(os.path.dirname(CONTAINERD_BIN), exist_ok=True)
        tmp = tempfile.mkdtemp(prefix="bin.tmp.", dir=os.path.dirname(CONTAINERD_BIN))
        pkgs = [f"github.com/containerd/containerd/v2/cmd/{b}@{CONTAINERD_VERSION}" for b in wanted]
        flags = f"-s -w -X github.com/containerd/containerd/v2/version.Version={CONTAINERD_VERSION}"
        done = subprocess.run(["nice", "-n", "10", "go", "install", "-ldflags", flags, *pkgs],
                              capture_output=True, text=True, timeout=1800,
                              env={**os.environ, "GOBIN": tmp})
        assert done.returncode == 0, done.stderr[-3000:]
        os.chmod(tmp, 0o755)
        os.rename(tmp, CONTAINERD_BIN)
    if not shutil.which("runc"):
        done = subprocess.run(["apt-get", "install", "-y", "-qq", "runc"], capture_output=True,
                              text=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        assert done.returncode == 0, done.stderr[-3000:]
    return CONTAINERD_BIN


def _cgroup_mounts():
    mounts = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            fstype = fields[fields.index("-") + 1]
            if fstype in ("cgroup", "cgroup2"):
                mounts.append(fields[4])
    return mounts


def _mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(path + "/")]


class Containerd:
    """A private containerd: `ctr(...)` runs ctr against it. Its root (content, snapshots) is a
    tmpfs mounted on `workdir`: quick to fill and, unmounted, gone at once."""

    def __init__(self, bin_dir, workdir, rundir):
        self.bin_dir, self.workdir, self.rundir = bin_dir, workdir, rundir
        self.address = os.path.join(rundir, "containerd.sock")
        self.proc = None
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2g,mode=0700", "podmeter-images-test",
                        workdir], check=True)
        try:
            self._start()
        except BaseException:
            if self.proc:
                self.proc.kill()
                self.proc.wait()
            subprocess.run(["umount", workdir], check=False)
            raise

    def _start(self):
        workdir, rundir, bin_dir = self.workdir, self.rundir, self.bin_dir
        config = os.path.join(workdir, "config.toml")
        with open(config, "w") as f:
            f.write(f"""version = 3
root = "{workdir}/root"
state = "{rundir}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime",
                    "io.containerd.cri.v1.images", "io.containerd.nri.v1.nri"]
[grpc]
  address = "{self.address}"
[ttrpc]
  address = "{self.address}.ttrpc"
""")
        self.log = open(os.path.join(workdir, "containerd.log"), "w")
        env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
        self.proc = subprocess.Popen([os.path.join(bin_dir, "containerd"), "--config", config],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"containerd exited: {self.log_tail()}"
            if os.path.exists(self.address) and self.ctr("version", check=False).returncode == 0:
                return
            time.sleep(0.2)
        raise AssertionError(f"containerd did not answer in 60 s: {self.log_tail()}")

    def log_tail(self):
        with open(self.log.name) as f:
            return f.read()[-3000:]

    def ctr(self, *args, check=True, timeout=120):
        done = subprocess.run([os.path.join(self.bin_dir, "ctr"), "--address", self.address,
                               "--namespace", NAMESPACE, *args],
                              capture_output=True, text=True, timeout=timeout)
        if check:
            assert done.returncode == 0, f"ctr {' '.join(args)}: {done.stdout}{done.stderr}"
        return done

    def shims(self):
        """Pids of the runc shims serving this containerd."""
        pids = []
        for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
            try:
                with open(cmdline, "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"containerd-shim-runc-v2") and \
                    self.address.encode() in argv:
                pids.append(int(cmdline.split("/")[2]))
        return pids

    def stop(self):
        """Deletes every task and container, stops containerd, and checks that no shim, mount
        or cgroup of ours is left."""
        for task in self.ctr("tasks", "ls", "-q", check=False).stdout.split():
            self.ctr("tasks", "kill", "-s", "SIGKILL", task, check=False)
            self.ctr("tasks", "delete", "-f", task, check=False)
        for container in self.ctr("containers", "ls", "-q", check=False).stdout.split():
            self.ctr("containers", "delete", container, check=False)
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        leftovers = self.shims()
        for pid in leftovers:
            os.kill(pid, signal.SIGKILL)
        mounts = _mounts_under(self.workdir) + _mounts_under(self.rundir)
        for mount in sorted(mounts, reverse=True):
            subprocess.run(["umount", "-l", mount], check=False)
        cgroups = [os.path.join(m, CGROUP_PARENT) for m in _cgroup_mounts()
                   if os.path.isdir(os.path.join(m, CGROUP_PARENT))]
        busy = []
        for cgroup in cgroups:
            for sub in sorted(glob.glob(os.path.join(cgroup, "*/")), reverse=True):
                _rmdir(sub, busy)
            _rmdir(cgroup, busy)
        shutil.rmtree(self.rundir, ignore_errors=True)
        subprocess.run(["umount", self.workdir], check=False)
        unmounted = not os.path.ismount(self.workdir)
        if unmounted:
            os.rmdir(self.workdir)
        assert not leftovers, f"runc shims left running: {leftovers}"
        assert not mounts, f"mounts left: {mounts}"
        assert not busy, f"cgroups that could not be removed: {busy}"
        assert unmounted, f"could not unmount {self.workdir}"


def _rmdir(path, busy):
    deadline = time.monotonic() + 10
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                busy.append(path)
                return
            time.sleep(0.1)
