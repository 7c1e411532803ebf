"""Boots a real cgroup v2 kernel under QEMU with a busybox initramfs and collects what a guest
script prints on the serial console.

The kernel and busybox come from Debian packages (`apt-get download`, `dpkg-deb -x`, nothing is
installed on the host), cached in $PODMETER_VM_CACHE (default /var/cache/podmeter/vm). The
initramfs holds busybox, the given host binaries with their `ldd` libraries and loader, and the
guest script as /init. The VM has no network device; the guest talks to its own 127.0.0.1.

The guest reports through the console in blocks:
    @@begin <name>        ...text...        @@end <name>
and a last line `@@done <status>`. `boot()` returns the blocks by name (a name seen twice keeps
the last), or raises VmError with the console's tail when the VM does not print `@@done` within
the timeout.
"""
import gzip
import io
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time

CACHE = os.environ.get("PODMETER_VM_CACHE", "/var/cache/podmeter/vm")
KERNEL_META_PACKAGE = "linux-image-amd64"
BUSYBOX_PACKAGE = "busybox-static"
BASE_APPEND = "console=ttyS0 quiet panic=-1 cgroup_no_v1=all"


class VmError(RuntimeError):
    pass


def _run(cmd, **kw):
    res = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if res.returncode != 0:
        raise VmError(f"{' '.join(cmd)}: exit {res.returncode}: {res.stderr.strip()[-2000:]}")
    return res.stdout


def ensure_qemu():
    """qemu-system-x86_64 from Debian's qemu-system-x86 (installed by scripts/setup; here too)."""
    if shutil.which("qemu-system-x86_64"):
        return
    if os.geteuid() != 0:
        raise VmError("qemu-system-x86_64 is missing and installing it needs root")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    _run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "qemu-system-x86"],
         env=env)


def kernel_package():
    """The versioned image package Debian's linux-image-amd64 depends on (e.g. 6.1.0-57)."""
    out = _run(["apt-cache", "depends", KERNEL_META_PACKAGE])
    m = re.search(r"Depends: (linux-image-[0-9][^\s]*-amd64)\b", out)
    if not m:
        raise VmError(f"apt-cache depends {KERNEL_META_PACKAGE}: no linux-image-*-amd64 in {out!r}")
    return m.group(1)


def _extracted(package):
    """Downloads and extracts `package` once; returns the extraction directory."""
    root = os.path.join(CACHE, "pkg", package)
    if os.path.isdir(root):
        return root
    debs = os.path.join(CACHE, "debs")
    os.makedirs(debs, exist_ok=True)
    found = [f for f in os.listdir(debs) if f.startswith(package + "_") and f.endswith(".deb")]
    if not found:
        _run(["apt-get", "download", package], cwd=debs)
        found = [f for f in os.listdir(debs) if f.startswith(package + "_") and f.endswith(".deb")]
    if len(found) != 1:
        raise VmError(f"expected one {package} .deb in {debs}, found {found}")
    os.makedirs(os.path.dirname(root), exist_ok=True)
    tmp = tempfile.mkdtemp(dir=os.path.dirname(root))
    _run(["dpkg-deb", "-x", os.path.join(debs, found[0]), tmp])
    os.rename(tmp, root)
    return root


def kernel():
    """(path of vmlinuz, kernel release) of Debian's current 6.1 amd64 image."""
    pkg = kernel_package()
    boot = os.path.join(_extracted(pkg), "boot")
    [vmlinuz] = [f for f in os.listdir(boot) if f.startswith("vmlinuz-")]
    return os.path.join(boot, vmlinuz), vmlinuz[len("vmlinuz-"):]


def busybox():
    return os.path.join(_extracted(BUSYBOX_PACKAGE), "bin", "busybox")


def shared_libraries(binary):
    """Absolute paths `ldd` resolves for a dynamically linked binary (libraries and the loader)."""
    res = subprocess.run(["ldd", binary], capture_output=True, text=True)
    if res.returncode != 0:  # "not a dynamic executable"
        return []
    libs = []
    for line in res.stdout.splitlines():
        m = re.search(r"(/\S+)\s+\(0x", line)
        if m:
            libs.append(m.group(1))
        elif "not found" in line:
            raise VmError(f"ldd {binary}: {line.strip()}")
    return libs


class _Cpio:
    """A gzip'd cpio "newc" archive (what the kernel unpacks as initramfs), written in memory."""

    def __init__(self):
        self._buf = io.BytesIO()
        self._ino = 1
        self._names = set()

    def _entry(self, name, mode, data=b""):
        self._ino += 1
        fields = [self._ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0]
        header = b"070701" + b"".join(b"%08X" % f for f in fields)
        self._buf.write(header + name.encode() + b"\0")
        self._buf.write(b"\0" * (-(len(header) + len(name) + 1) % 4))
        self._buf.write(data)
        self._buf.write(b"\0" * (-len(data) % 4))

    def directory(self, path):
        parts = path.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            name = "/".join(parts[:i])
            if name and name not in self._names:
                self._names.add(name)
                self._entry(name, stat.S_IFDIR | 0o755)

    def file(self, path, data, mode=0o755):
        name = path.strip("/")
        if name in self._names:
            return
        self.directory(os.path.dirname(name))
        self._names.add(name)
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, path, target):
        name = path.strip("/")
        if name in self._names:
            return
        self.directory(os.path.dirname(name))
        self._names.add(name)
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def gzipped(self):
        self._entry("TRAILER!!!", 0)
        return gzip.compress(self._buf.getvalue(), compresslevel=1)


def build_initramfs(path, init_script, binaries, files=None):
    """Writes a gzip'd initramfs to `path`: busybox (every applet linked in /bin), `binaries`
    ({guest path: host path}) with their ldd libraries at their host paths, `files` ({guest path:
    bytes}) and `init_script` (text) as /init."""
    cpio = _Cpio()
    for d in ("dev", "proc", "sys", "tmp", "run", "etc", "root"):
        cpio.directory(d)
    bb = busybox()
    with open(bb, "rb") as f:
        cpio.file("bin/busybox", f.read())
    applets = _run([bb, "--list-full"]).split()
    for applet in applets:
        if applet != "bin/busybox":
            cpio.symlink(applet, "/bin/busybox")
    cpio.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n", 0o644)
    cpio.file("etc/group", b"root:x:0:\n", 0o644)
    libs = set()
    for guest, host in sorted(binaries.items()):
        with open(host, "rb") as f:
            cpio.file(guest, f.read())
        libs.update(shared_libraries(host))
    for lib in sorted(libs):
        with open(os.path.realpath(lib), "rb") as f:
            cpio.file(lib, f.read())
    for guest, data in sorted((files or {}).items()):
        cpio.file(guest, data)
    cpio.file("init", init_script.encode())
    with open(path, "wb") as f:
        f.write(cpio.gzipped())


_BLOCK = re.compile(r"^@@begin (\S+)\n(.*?)^@@end \1$", re.M | re.S)
_DONE = re.compile(r"^@@done (\S+)", re.M)


def parse_console(text):
    """({block name: text}, status or None) from the guest's console output."""
    text = text.replace("\r\n", "\n").replace("\r", "")
    blocks = {m.group(1): m.group(2) for m in _BLOCK.finditer(text)}
    done = _DONE.findall(text)
    return blocks, (done[-1] if done else None)


def boot(initrd, log_path, timeout=240, memory_mib=1024, cpus=2, append=""):
    """Boots the kernel with `initrd`, the console going to `log_path`. Returns (blocks, console
    text). Raises VmError (with the console's tail) when the guest does not print `@@done ok`."""
    ensure_qemu()
    vmlinuz, _ = kernel()
    cmd = ["qemu-system-x86_64", "-m", str(memory_mib), "-smp", str(cpus), "-nic", "none",
           "-nographic", "-no-reboot", "-kernel", vmlinuz, "-initrd", initrd,
           "-append", f"{BASE_APPEND} {append}".strip()]
    start = time.monotonic()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            proc.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            timed_out = True
    with open(log_path, "rb") as f:
        console = f.read().decode(errors="replace")
    blocks, status = parse_console(console)
    tail = "\n".join(console.replace("\r", "").splitlines()[-60:])
    elapsed = time.monotonic() - start
    if timed_out:
        raise VmError(f"the VM did not finish within {timeout} s (console: {log_path}); "
                      f"last lines:\n{tail}")
    if status != "ok":
        raise VmError(f"the guest finished with status {status!r} after {elapsed:.0f} s "
                      f"(qemu exit {proc.returncode}, console: {log_path}); last lines:\n{tail}")
    return blocks, console


def main(argv):
    """`vm.py fetch` downloads and extracts the packages (the cache the tests use)."""
    if argv[1:] == ["fetch"]:
        ensure_qemu()
        print(kernel()[0])
        print(busybox())
        return 0
    print("usage: vm.py fetch", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
