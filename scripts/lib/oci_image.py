"""A single-layer OCI image written as an OCI image-layout tar archive, the format
`ctr images import` reads: oci-layout, index.json (the image's name in the annotation
io.containerd.image.name), and under blobs/sha256/ the manifest, the config and one gzip layer.

Reproducible: entries are sorted, owned by 0:0, keep their source's mtime (synthesized ones get
EPOCH), and gzip carries no timestamp, so the same inputs give the same digests.
"""
import dataclasses
import gzip
import hashlib
import io
import json
import os
import stat
import tarfile
import tempfile

MEDIA_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
NAME_ANNOTATION = "io.containerd.image.name"
REF_ANNOTATION = "org.opencontainers.image.ref.name"
EPOCH = 0  # mtime of synthesized entries (parent directories, generated files)

# How the CRI (and so the kubelet) spells a short reference such as `rust-api:dev`: the default
# domain and the library/ path. ctr imports an image under exactly the annotated name, so the
# annotation must carry the normalized form for a pod's `image: rust-api:dev` to find it.
_DEFAULT_DOMAIN = "docker" + ".io"


def normalized_name(reference: str) -> str:
    """The fully qualified name the CRI looks up ('rust-api:dev': <domain>/library/rust-api:dev)."""
    first, slash, rest = reference.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        name = reference
    elif slash:
        name = f"{_DEFAULT_DOMAIN}/{reference}"
    else:
        name = f"{_DEFAULT_DOMAIN}/library/{reference}"
    last = name.rsplit("/", 1)[-1]
    return name if (":" in last or "@" in last) else name + ":latest"


@dataclasses.dataclass(frozen=True)
class Entry:
    """One path of the layer. Exactly one of source (host file), data or target (symlink) is
    set for files and symlinks; directories have none."""

    path: str  # absolute, in the image
    kind: str  # "file", "dir" or "symlink"
    mode: int = 0o755
    source: str | None = None
    data: bytes | None = None
    target: str | None = None
    mtime: int = EPOCH


class Layer:
    """The files of one layer, keyed by image path. Parent directories are added as needed."""

    def __init__(self):
        self.entries: dict[str, Entry] = {}

    def add_file(self, path: str, source: str, mode: int | None = None):
        st = os.stat(source)
        self._put(Entry(path, "file", stat.S_IMODE(st.st_mode) if mode is None else mode,
                        source=source, mtime=int(st.st_mtime)))

    def add_bytes(self, path: str, data: bytes, mode: int = 0o644):
        self._put(Entry(path, "file", mode, data=data))

    def add_dir(self, path: str, mode: int = 0o755):
        self._put(Entry(path, "dir", mode))

    def add_symlink(self, path: str, target: str):
        self._put(Entry(path, "symlink", 0o777, target=target))

    def _put(self, entry: Entry):
        path = os.path.normpath(entry.path)
        if not path.startswith("/") or path == "/":
            raise ValueError(f"layer path must be absolute and not /: {entry.path!r}")
        old = self.entries.get(path)
        if old is not None and old.kind == "dir" and entry.kind == "dir":
            return
        if old is not None and old != dataclasses.replace(entry, path=path):
            raise ValueError(f"{path} added twice with different contents")
        parent = os.path.dirname(path)
        if parent != "/" and parent not in self.entries:
            self.add_dir(parent)
        elif parent != "/" and self.entries[parent].kind != "dir":
            raise ValueError(f"{parent} is a {self.entries[parent].kind}, not a directory")
        self.entries[path] = dataclasses.replace(entry, path=path)

    def sorted_entries(self) -> list[Entry]:
        """Parents before children, siblings by name."""
        return sorted(self.entries.values(), key=lambda e: e.path.split("/"))

    def fingerprint(self) -> str:
        """sha256 over every entry's metadata and content: changes when an input changes, at
        the cost of reading the inputs once (much less than compressing them)."""
        h = hashlib.sha256()
        for e in self.sorted_entries():
            h.update(json.dumps([e.path, e.kind, e.mode, e.target, e.mtime]).encode())
            if e.data is not None:
                h.update(hashlib.sha256(e.data).digest())
            elif e.source:
                with open(e.source, "rb") as f:
                    h.update(hashlib.file_digest(f, "sha256").digest())
        return h.hexdigest()


@dataclasses.dataclass
class ImageConfig:
    """The runtime part of the OCI image config (the fields a Dockerfile sets)."""

    entrypoint: list[str]
    cmd: list[str] = dataclasses.field(default_factory=list)
    env: list[str] = dataclasses.field(default_factory=list)
    working_dir: str = "/"
    user: str = ""
    exposed_ports: list[str] = dataclasses.field(default_factory=list)  # e.g. "8080/tcp"
    labels: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ArchiveInfo:
    name: str  # the annotated (normalized) name
    manifest_digest: str
    config_digest: str
    layer_digest: str  # of the gzip blob
    diff_id: str  # of the uncompressed layer tar
    layer_gzip_bytes: int
    unpacked_bytes: int  # the uncompressed layer tar
    archive_bytes: int
    files: int


class _Tee(io.RawIOBase):
    """A write-only stream that hashes and counts what passes through to `out`."""

    def __init__(self, out):
        self.out, self.sha, self.size = out, hashlib.sha256(), 0

    def writable(self):
        return True

    def write(self, b):
        self.sha.update(b)
        self.size += len(b)
        self.out.write(b)
        return len(b)


def _tar_info(e: Entry) -> tarfile.TarInfo:
    info = tarfile.TarInfo(e.path.lstrip("/"))
    info.mode, info.mtime = e.mode, e.mtime
    info.uid, info.gid, info.uname, info.gname = 0, 0, "", ""
    if e.kind == "dir":
        info.type = tarfile.DIRTYPE
    elif e.kind == "symlink":
        info.type, info.linkname = tarfile.SYMTYPE, e.target
    else:
        info.size = os.stat(e.source).st_size if e.source else len(e.data)
    return info


def write_layer(layer: Layer, out) -> tuple[str, int, str, int]:
    """Writes the gzip layer to the binary stream `out`.
    Returns (gzip digest, gzip size, diff_id, uncompressed size)."""
    compressed = _Tee(out)
    with gzip.GzipFile(fileobj=compressed, mode="wb", compresslevel=6, mtime=0, filename="") as gz:
        plain = _Tee(gz)
        with tarfile.open(fileobj=plain, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for e in layer.sorted_entries():
                info = _tar_info(e)
                if e.kind != "file":
                    tar.addfile(info)
                elif e.source:
                    with open(e.source, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info, io.BytesIO(e.data))
    return ("sha256:" + compressed.sha.hexdigest(), compressed.size,
            "sha256:" + plain.sha.hexdigest(), plain.size)


def _canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def _descriptor(media_type: str, digest: str, size: int, **extra) -> dict:
    return {"mediaType": media_type, "digest": digest, "size": size, **extra}


def image_config_json(config: ImageConfig, diff_id: str, created: str, history: str) -> bytes:
    runtime = {"Entrypoint": config.entrypoint, "Env": config.env, "WorkingDir": config.working_dir}
    if config.cmd:
        runtime["Cmd"] = config.cmd
    if config.user:
        runtime["User"] = config.user
    if config.exposed_ports:
        runtime["ExposedPorts"] = {p: {} for p in config.exposed_ports}
    if config.labels:
        runtime["Labels"] = config.labels
    return _canonical({
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": runtime,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": created, "created_by": history}],
    })


def write_archive(path: str, reference: str, layer: Layer, config: ImageConfig,
                  history: str = "scripts/images") -> ArchiveInfo:
    """Writes the image archive to `path` (atomically: a temp file renamed at the end)."""
    name = normalized_name(reference)
    newest = max((e.mtime for e in layer.entries.values()), default=EPOCH)
    created = _rfc3339(newest)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with tempfile.TemporaryFile(dir=directory) as blob:
        layer_digest, layer_size, diff_id, unpacked = write_layer(layer, blob)
        config_bytes = image_config_json(config, diff_id, created, history)
        config_digest = "sha256:" + hashlib.sha256(config_bytes).hexdigest()
        manifest_bytes = _canonical({
            "schemaVersion": 2,
            "mediaType": MEDIA_MANIFEST,
            "config": _descriptor(MEDIA_CONFIG, config_digest, len(config_bytes)),
            "layers": [_descriptor(MEDIA_LAYER_GZIP, layer_digest, layer_size)],
        })
        manifest_digest = "sha256:" + hashlib.sha256(manifest_bytes).hexdigest()
        tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else "latest"
        index_bytes = _canonical({
            "schemaVersion": 2,
            "mediaType": MEDIA_INDEX,
            "manifests": [_descriptor(
                MEDIA_MANIFEST, manifest_digest, len(manifest_bytes),
                platform={"architecture": "amd64", "os": "linux"},
                annotations={NAME_ANNOTATION: name, REF_ANNOTATION: tag})],
        })
        tmp = path + ".tmp"
        with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
            def add(arcname, data=None, fileobj=None, size=0):
                info = tarfile.TarInfo(arcname)
                info.mode, info.mtime = 0o644, newest
                if arcname.endswith("/"):
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
                    return
                info.size = len(data) if data is not None else size
                tar.addfile(info, io.BytesIO(data) if data is not None else fileobj)

            add("oci-layout", _canonical({"imageLayoutVersion": "1.0.0"}))
            add("index.json", index_bytes)
            add("blobs/")
            add("blobs/sha256/")
            add(_blob_path(config_digest), config_bytes)
            add(_blob_path(manifest_digest), manifest_bytes)
            blob.seek(0)
            add(_blob_path(layer_digest), fileobj=blob, size=layer_size)
        os.replace(tmp, path)
    return ArchiveInfo(name, manifest_digest, config_digest, layer_digest, diff_id, layer_size,
                       unpacked, os.path.getsize(path),
                       sum(1 for e in layer.entries.values() if e.kind == "file"))


def _blob_path(digest: str) -> str:
    algorithm, hexdigest = digest.split(":")
    return f"blobs/{algorithm}/{hexdigest}"


def _rfc3339(seconds: int) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
