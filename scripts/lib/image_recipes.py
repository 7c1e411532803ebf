"""What each of the project's images contains, built from the repository's own builds (the
k8s/docker/*.Dockerfile describe the same images for a registry-based workflow: same paths,
entrypoints, environment, user and ports)."""
import dataclasses
import filecmp
import os
import re
import subprocess
from typing import Callable

import image_rootfs as rootfs
from oci_image import ImageConfig, Layer

PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NONROOT = "65532:65532"
PYTHON = "/usr/bin/python3.11"  # Debian 12's python3, as the Django Dockerfile's 3.11
PYTHON_STDLIB = "/usr/lib/python3.11"
# Parts of the standard library a server never imports (tests, GUIs, installers, 2to3).
PYTHON_SKIP = frozenset({
    "test", "tests", "idle_test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3",
    "distutils", "pydoc_data", "config-3.11-x86_64-linux-gnu", "sitecustomize.py", "__phello__"})


@dataclasses.dataclass
class Context:
    repo: str  # repository root
    inputs: str  # where built inputs go (outside the repository)

    def run(self, *cmd: str, cwd: str | None = None, env: dict | None = None):
        done = subprocess.run(cmd, cwd=cwd or self.repo, env={**os.environ, **(env or {})},
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n"
                               f"{(done.stdout + done.stderr)[-3000:]}")


@dataclasses.dataclass
class Recipe:
    file: str  # archive name in the cache, without .tar
    reference: str  # the image as the manifests name it
    build: Callable[[Context], None]  # the repository's build of the inputs
    layer: Callable[[Context], Layer]
    config: ImageConfig


def _newer(target: str, *sources: str) -> bool:
    return os.path.exists(target) and all(
        os.path.getmtime(target) >= os.path.getmtime(s) for s in sources)


# pause -------------------------------------------------------------------------------------


def _build_pause(ctx: Context):
    source, out = os.path.join(ctx.repo, "k8s/images/pause.c"), os.path.join(ctx.inputs, "pause")
    if not _newer(out, source):
        ctx.run("gcc", "-static", "-Os", "-s", "-Wall", "-Wextra", "-Werror", "-o", out, source)


def _layer_pause(ctx: Context) -> Layer:
    layer = Layer()
    layer.add_file("/pause", os.path.join(ctx.inputs, "pause"), 0o755)
    return layer


# podmeter ----------------------------------------------------------------------------------


def strip_into(ctx: Context, binary: str, out: str):
    """`out` becomes `binary` stripped, rewritten only when its contents change."""
    ctx.run("strip", "-o", out + ".new", binary)
    if os.path.exists(out) and filecmp.cmp(out + ".new", out, shallow=False):
        os.remove(out + ".new")
    else:
        os.replace(out + ".new", out)


def _build_podmeter(ctx: Context):
    build = os.path.join(ctx.repo, "build")
    if os.path.exists(os.path.join(build, "build.ninja")):
        ctx.run("cmake", "--build", build, "--target", "podmeter")
    else:
        ctx.run(os.path.join(ctx.repo, "scripts/build"))
    binary, out = os.path.join(build, "exporter/podmeter"), os.path.join(ctx.inputs, "podmeter")
    # As the Dockerfile: no debug info in the image. The inputs directory is shared by every
    # checkout that builds images (worktrees, CI's clone): contents decide, not mtimes, so a
    # podmeter stripped from another tree's newer build is never taken for this tree's.
    strip_into(ctx, binary, out)


def _layer_podmeter(ctx: Context) -> Layer:
    layer = Layer()
    rootfs.base_files(layer)
    rootfs.add_program(layer, "/usr/local/bin/podmeter", os.path.join(ctx.inputs, "podmeter"))
    # libcurl's default CA bundle (the Dockerfile's ca-certificates).
    rootfs.add_host_path(layer, "/etc/ssl/certs/ca-certificates.crt")
    return layer


# rust-api, go-api --------------------------------------------------------------------------


def _build_rust(ctx: Context):
    ctx.run(os.path.join(ctx.repo, "servers/build"), "rust")


def _rust_layer(binary: str):
    """The layer of one binary of the servers/rust workspace (refserver, refserver-actix, …)."""

    def layer_of(ctx: Context) -> Layer:
        layer = Layer()
        rootfs.base_files(layer)
        rootfs.add_program(layer, "/refserver",
                           os.path.join(ctx.repo, "servers/rust/target/release", binary))
        return layer

    return layer_of


_layer_rust = _rust_layer("refserver")


def _go_build(package: str, output: str):
    """Builds a command of the servers/go module as the Dockerfile does: static (CGO_ENABLED=0,
    the pure-Go resolver), -trimpath."""

    def build(ctx: Context):
        ctx.run(os.path.join(ctx.repo, "servers/setup"), "go")
        ctx.run("go", "build", "-trimpath", "-o", os.path.join(ctx.inputs, output), package,
                cwd=os.path.join(ctx.repo, "servers/go"), env={"CGO_ENABLED": "0"})

    return build


def _go_layer(output: str):
    def layer_of(ctx: Context) -> Layer:
        layer = Layer()
        rootfs.base_files(layer)
        binary = os.path.join(ctx.inputs, output)
        if rootfs.ldd(binary):
            raise RuntimeError(f"{binary} is not static")
        layer.add_file("/refserver", binary, 0o755)
        return layer

    return layer_of


_build_go = _go_build(".", "go-refserver")
_layer_go = _go_layer("go-refserver")


# django-api --------------------------------------------------------------------------------


def _build_django(ctx: Context):
    ctx.run(os.path.join(ctx.repo, "servers/setup"), "django")


def _build_flask(ctx: Context):
    ctx.run(os.path.join(ctx.repo, "servers/setup"), "flask")


def parse_requirements(text: str) -> dict[str, str]:
    """Exact pins `name==version` -> {normalized name: version}."""
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)", line)
        if not m:
            raise ValueError(f"not an exact pin: {line!r}")
        pins[normalize_dist(m.group(1))] = m.group(2)
    return pins


def normalize_dist(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installed_dists(site: str) -> dict[str, tuple[str, str]]:
    """normalized name -> (version, dist-info dir) of what pip installed in `site`."""
    dists = {}
    for entry in os.listdir(site):
        if not entry.endswith(".dist-info"):
            continue
        meta = {}
        with open(os.path.join(site, entry, "METADATA"), encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                meta.setdefault(key, value.strip())
        dists[normalize_dist(meta["Name"])] = (meta["Version"], os.path.join(site, entry))
    return dists


def _record_paths(dist_info: str) -> list[str]:
    """A distribution's files inside site-packages, from its RECORD (scripts in ../bin left out)."""
    with open(os.path.join(dist_info, "RECORD"), encoding="utf-8") as f:
        paths = [line.rsplit(",", 2)[0] for line in f if line.strip()]
    return [p for p in paths if not p.startswith("..")]


def _layer_django(ctx: Context) -> Layer:
    return _gunicorn_layer(ctx, "django", "refserver")


def _layer_flask(ctx: Context) -> Layer:
    return _gunicorn_layer(ctx, "flask", "refflask")


def _gunicorn_layer(ctx: Context, name: str, package: str) -> Layer:
    """A Python server of servers/<name>: the interpreter, a venv with its runtime requirements,
    serve.py, its package and the shared refcommon package."""
    server = os.path.join(ctx.repo, "servers", name)
    venv_site = os.path.join(server, ".venv/lib/python3.11/site-packages")
    with open(os.path.join(server, "requirements.txt")) as f:
        pins = parse_requirements(f.read())
    installed = _installed_dists(venv_site)

    layer = Layer()
    rootfs.base_files(layer)
    # The interpreter, its standard library and the extension modules' libraries.
    rootfs.add_program(layer, PYTHON, PYTHON)
    for shared in rootfs.add_tree(layer, PYTHON_STDLIB, PYTHON_SKIP):
        rootfs.add_libraries(layer, shared)
    # A venv at the Dockerfile's path holding only the runtime requirements (not the tests').
    version = subprocess.run([PYTHON, "-c", "import platform; print(platform.python_version())"],
                             capture_output=True, text=True, check=True).stdout.strip()
    layer.add_bytes("/app/.venv/pyvenv.cfg",
                    f"home = {os.path.dirname(PYTHON)}\ninclude-system-site-packages = false\n"
                    f"version = {version}\n".encode())
    layer.add_symlink("/app/.venv/bin/python3.11", PYTHON)
    layer.add_symlink("/app/.venv/bin/python3", "python3.11")
    layer.add_symlink("/app/.venv/bin/python", "python3.11")
    site = "/app/.venv/lib/python3.11/site-packages"
    for name, want in sorted(pins.items()):
        have = installed.get(name)
        if have is None or have[0] != want:
            found = have[0] if have else "nothing"
            raise RuntimeError(f"{name}=={want} is not installed in {venv_site} (found {found}): "
                               f"run servers/setup {name}")
        for rel in _record_paths(have[1]):
            source = os.path.join(venv_site, rel)
            if os.path.isfile(source):
                layer.add_file(os.path.join(site, rel), source)
    # The server itself, as the Dockerfile copies it.
    layer.add_file("/app/serve.py", os.path.join(server, "serve.py"), 0o644)
    for top, source_dir in ((package, os.path.join(server, package)),
                            ("refcommon", os.path.join(ctx.repo, "servers/python/refcommon"))):
        for root, dirs, files in os.walk(source_dir):
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            for file in files:
                if file.endswith(".py"):
                    source = os.path.join(root, file)
                    layer.add_file(f"/app/{top}/" + os.path.relpath(source, source_dir), source, 0o644)
    return layer


def _server_config(entrypoint: list[str], *env: str, working_dir: str = "/") -> ImageConfig:
    return ImageConfig(entrypoint=entrypoint, env=[PATH_ENV, "PORT=8080", "HOST=0.0.0.0", *env],
                       working_dir=working_dir, user=NONROOT, exposed_ports=["8080/tcp"])


RECIPES = [
    Recipe("pause", "podmeter.local/pause:3.10", _build_pause, _layer_pause,
           ImageConfig(entrypoint=["/pause"], user="65535:65535")),
    Recipe("podmeter", "podmeter:dev", _build_podmeter, _layer_podmeter,
           ImageConfig(entrypoint=["/usr/local/bin/podmeter"], env=[PATH_ENV],
                       exposed_ports=["10101/tcp"])),
    Recipe("rust-api", "rust-api:dev", _build_rust, _layer_rust, _server_config(["/refserver"])),
    Recipe("go-api", "go-api:dev", _build_go, _layer_go, _server_config(["/refserver"])),
    Recipe("django-api", "django-api:dev", _build_django, _layer_django,
           _server_config(["/app/.venv/bin/python", "/app/serve.py"], "WORKERS=4",
                          "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1", working_dir="/app")),
    # The other reference stacks (servers/README.md): one workspace builds the three Rust
    # binaries, one Go module both Go commands.
    Recipe("actix-api", "actix-api:dev", _build_rust, _rust_layer("refserver-actix"),
           _server_config(["/refserver"])),
    Recipe("hyper-api", "hyper-api:dev", _build_rust, _rust_layer("refserver-hyper"),
           _server_config(["/refserver"])),
    Recipe("fasthttp-api", "fasthttp-api:dev", _go_build("./fasthttp", "fasthttp-refserver"),
           _go_layer("fasthttp-refserver"), _server_config(["/refserver"])),
    Recipe("flask-api", "flask-api:dev", _build_flask, _layer_flask,
           _server_config(["/app/.venv/bin/python", "/app/serve.py"], "WORKERS=4",
                          "PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1", working_dir="/app")),
]
