"""Host files into an image layer: a path with the symlinks met on the way, a dynamically linked
program with its `ldd` closure and loader, a directory tree, the files every image has."""
import os
import re
import subprocess

from oci_image import Layer

_LDD_LINE = re.compile(r"^\s*(?:(\S+) => )?(\S+|not found)(?: \(0x[0-9a-f]+\))?\s*$")


def parse_ldd(text: str) -> list[str]:
    """The absolute paths (libraries and loader) in `ldd` output; [] for a static program.
    Raises ValueError on a library `ldd` could not find."""
    paths = []
    for line in text.splitlines():
        if not line.strip() or "statically linked" in line or "not a dynamic executable" in line:
            continue
        m = _LDD_LINE.match(line)
        if not m:
            raise ValueError(f"unexpected ldd line: {line.strip()!r}")
        soname, path = m.groups()
        if path == "not found":
            raise ValueError(f"ldd: {soname} not found")
        if path.startswith("/"):
            paths.append(path)
        # else a virtual object such as linux-vdso.so.1
    return paths


def ldd(program: str) -> list[str]:
    run = subprocess.run(["ldd", program], capture_output=True, text=True)
    if run.returncode != 0 and "not a dynamic executable" not in run.stdout + run.stderr:
        raise RuntimeError(f"ldd {program} failed: {run.stderr.strip()}")
    return parse_ldd(run.stdout + run.stderr)


def add_host_path(layer: Layer, path: str, mode: int | None = None) -> str:
    """Adds the host file `path` at the same path in the image, with every symlink met while
    resolving it (a parent such as /lib -> usr/lib, or the file itself) as a symlink, so that the
    path resolves in the image as on the host. Returns the resolved path."""
    parts = path.strip("/").split("/")
    resolved = "/"
    hops = 0
    while parts:
        candidate = os.path.join(resolved, parts.pop(0))
        if os.path.islink(candidate):
            hops += 1
            if hops > 40:
                raise RuntimeError(f"too many symlinks resolving {path}")
            target = os.readlink(candidate)
            layer.add_symlink(candidate, target)
            parts = os.path.normpath(os.path.join(resolved, target)).strip("/").split("/") + parts
            resolved = "/"
        else:
            resolved = candidate
    if os.path.isdir(resolved):
        layer.add_dir(resolved)
    else:
        layer.add_file(resolved, resolved, mode)
    return resolved


def add_libraries(layer: Layer, program: str):
    """Adds the shared libraries and the loader `program` needs (its ldd closure)."""
    for lib in ldd(program):
        add_host_path(layer, lib)


def add_program(layer: Layer, image_path: str, source: str):
    """Adds the host program `source` at `image_path`, with the libraries it needs."""
    layer.add_file(image_path, source, 0o755)
    add_libraries(layer, source)


def add_tree(layer: Layer, host_dir: str, skip: frozenset[str] = frozenset()) -> list[str]:
    """Adds every file and symlink under `host_dir` at the same path (a symlink with what it
    points to), except files and directories whose name is in `skip`. Returns the paths of the
    shared objects (*.so) added."""
    shared = []
    for root, dirs, files in os.walk(host_dir):
        layer.add_dir(root)
        links = [d for d in dirs if os.path.islink(os.path.join(root, d))]
        dirs[:] = sorted(d for d in dirs if d not in skip and d not in links)
        for name in sorted(n for n in files + links if n not in skip):
            path = os.path.join(root, name)
            if os.path.islink(path):
                add_host_path(layer, path)
            elif os.path.isfile(path):
                layer.add_file(path, path)
                if name.endswith(".so"):
                    shared.append(path)
    return shared


def base_files(layer: Layer):
    """What every image has: /etc/passwd and /etc/group naming root and nonroot (65532, as in
    distroless), glibc's name service order, and a world-writable /tmp. (The kubelet mounts
    /etc/hosts and /etc/resolv.conf.)"""
    layer.add_bytes("/etc/passwd", b"root:x:0:0:root:/root:/sbin/nologin\n"
                    b"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")
    layer.add_bytes("/etc/group", b"root:x:0:\nnonroot:x:65532:\n")
    layer.add_bytes("/etc/nsswitch.conf", b"passwd: files\ngroup: files\nhosts: files dns\n")
    layer.add_dir("/tmp", 0o1777)
