"""An independent reader of OCI image-layout archives for the tests: it re-derives every digest
and size from the bytes (it shares no code with scripts/lib/oci_image.py) and returns what it
found."""
import dataclasses
import gzip
import hashlib
import io
import json
import tarfile

MEDIA = {
    "index": "application/vnd.oci.image.index.v1+json",
    "manifest": "application/vnd.oci.image.manifest.v1+json",
    "config": "application/vnd.oci.image.config.v1+json",
    "layer": "application/vnd.oci.image.layer.v1.tar+gzip",
}


@dataclasses.dataclass
class Image:
    name: str
    config: dict
    manifest: dict
    layers: list[tarfile.TarFile]  # uncompressed, opened in memory
    layer_bytes: list[int]  # uncompressed sizes


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _blob(files: dict, descriptor: dict, media_type: str) -> bytes:
    assert descriptor["mediaType"] == media_type, descriptor
    algorithm, hexdigest = descriptor["digest"].split(":")
    data = files[f"blobs/{algorithm}/{hexdigest}"]
    assert len(data) == descriptor["size"], f"{descriptor['digest']}: size {len(data)}"
    assert _sha(data) == descriptor["digest"], f"{descriptor['digest']}: digest mismatch"
    return data


def read_archive(path: str) -> Image:
    """Reads and checks an archive; fails an assertion on any mismatch."""
    with tarfile.open(path) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"])
    assert index["schemaVersion"] == 2 and index["mediaType"] == MEDIA["index"]
    [entry] = index["manifests"]
    manifest = json.loads(_blob(files, entry, MEDIA["manifest"]))
    assert manifest["schemaVersion"] == 2 and manifest["mediaType"] == MEDIA["manifest"]
    config = json.loads(_blob(files, manifest["config"], MEDIA["config"]))
    assert config["os"] == "linux" and config["architecture"] == "amd64"
    assert config["rootfs"]["type"] == "layers"
    layers, sizes = [], []
    for descriptor, diff_id in zip(manifest["layers"], config["rootfs"]["diff_ids"], strict=True):
        plain = gzip.decompress(_blob(files, descriptor, MEDIA["layer"]))
        assert _sha(plain) == diff_id, "diff_id is not the digest of the uncompressed layer"
        layers.append(tarfile.open(fileobj=io.BytesIO(plain)))
        sizes.append(len(plain))
    return Image(entry["annotations"]["io.containerd.image.name"], config, manifest, layers, sizes)
