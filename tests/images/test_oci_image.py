"""scripts/lib/oci_image.py, image_rootfs.py and image_recipes.py on small inputs (no root)."""
import os
import sys
import tarfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "lib"))
sys.path.insert(0, HERE)

from image_recipes import parse_requirements  # noqa: E402
from image_rootfs import add_host_path, parse_ldd  # noqa: E402
from oci_check import read_archive  # noqa: E402
from oci_image import ImageConfig, Layer, normalized_name, write_archive  # noqa: E402

DOMAIN = "docker" + ".io"


def small_layer(tmp_path) -> Layer:
    program = tmp_path / "prog"
    if not program.exists():
        program.write_bytes(b"#!/bin/sh\necho hi\n")
        program.chmod(0o750)
        os.utime(program, (1_700_000_000, 1_700_000_000))
    layer = Layer()
    layer.add_file("/usr/bin/prog", str(program))
    layer.add_bytes("/etc/greeting", b"hello\n")
    layer.add_symlink("/bin", "usr/bin")
    layer.add_dir("/tmp", 0o1777)
    return layer


def test_archive_is_valid_oci_with_the_layer_as_written(tmp_path):
    config = ImageConfig(entrypoint=["/usr/bin/prog"], env=["A=1"], user="65532:65532",
                         exposed_ports=["8080/tcp"], working_dir="/app")
    info = write_archive(str(tmp_path / "x.tar"), "x-api:dev", small_layer(tmp_path), config)
    image = read_archive(str(tmp_path / "x.tar"))

    assert image.name == f"{DOMAIN}/library/x-api:dev" == info.name
    assert image.manifest["layers"][0]["digest"] == info.layer_digest
    assert image.config["rootfs"]["diff_ids"] == [info.diff_id]
    assert image.layer_bytes == [info.unpacked_bytes]
    assert info.archive_bytes == os.path.getsize(tmp_path / "x.tar")
    runtime = image.config["config"]
    assert runtime == {"Entrypoint": ["/usr/bin/prog"], "Env": ["A=1"], "WorkingDir": "/app",
                       "User": "65532:65532", "ExposedPorts": {"8080/tcp": {}}}
    assert image.config["created"] == "2023-11-14T22:13:20Z"  # the newest input's mtime

    [layer] = image.layers
    members = {m.name: m for m in layer.getmembers()}
    assert list(members) == ["bin", "etc", "etc/greeting", "tmp", "usr", "usr/bin", "usr/bin/prog"]
    prog = members["usr/bin/prog"]
    assert (prog.mode, prog.uid, prog.gid, prog.mtime) == (0o750, 0, 0, 1_700_000_000)
    assert layer.extractfile(prog).read() == b"#!/bin/sh\necho hi\n"
    assert members["bin"].issym() and members["bin"].linkname == "usr/bin"
    assert members["tmp"].isdir() and members["tmp"].mode == 0o1777
    assert members["usr"].isdir() and members["usr"].mode == 0o755
    assert info.files == 2


def test_same_inputs_give_the_same_digests(tmp_path):
    config = ImageConfig(entrypoint=["/usr/bin/prog"])
    a = write_archive(str(tmp_path / "a.tar"), "x:1", small_layer(tmp_path), config)
    b = write_archive(str(tmp_path / "b.tar"), "x:1", small_layer(tmp_path), config)
    assert (a.manifest_digest, a.layer_digest) == (b.manifest_digest, b.layer_digest)
    with open(tmp_path / "a.tar", "rb") as fa, open(tmp_path / "b.tar", "rb") as fb:
        assert fa.read() == fb.read()


def test_fingerprint_follows_the_inputs(tmp_path):
    before = small_layer(tmp_path).fingerprint()
    assert small_layer(tmp_path).fingerprint() == before
    (tmp_path / "prog").write_bytes(b"#!/bin/sh\necho ho\n")  # same size
    os.utime(tmp_path / "prog", (1_700_000_000, 1_700_000_000))  # same mtime
    assert small_layer(tmp_path).fingerprint() != before


def test_layer_refuses_conflicts():
    layer = Layer()
    layer.add_bytes("/etc/a", b"1")
    layer.add_bytes("/etc/a", b"1")  # the same twice is fine
    with pytest.raises(ValueError, match="added twice"):
        layer.add_bytes("/etc/a", b"2")
    layer.add_symlink("/lib", "usr/lib")
    with pytest.raises(ValueError, match="not a directory"):
        layer.add_bytes("/lib/x.so", b"")


@pytest.mark.parametrize("ref, name", [
    ("rust-api:dev", f"{DOMAIN}/library/rust-api:dev"),
    ("rust-api", f"{DOMAIN}/library/rust-api:latest"),
    ("team/rust-api:dev", f"{DOMAIN}/team/rust-api:dev"),
    ("podmeter.local/pause:3.10", "podmeter.local/pause:3.10"),
    ("localhost/x:1", "localhost/x:1"),
    ("host:5000/x", "host:5000/x:latest"),
])
def test_normalized_name_is_the_cri_lookup_name(ref, name):
    assert normalized_name(ref) == name


def test_parse_ldd():
    text = """\tlinux-vdso.so.1 (0x00007ffd5b3f2000)
\tlibm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x00007f2bf1fa2000)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f2bf1d76000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f2bf2096000)
"""
    assert parse_ldd(text) == ["/lib/x86_64-linux-gnu/libm.so.6",
                               "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"]
    assert parse_ldd("\tnot a dynamic executable\n") == []
    assert parse_ldd("\tstatically linked\n") == []
    with pytest.raises(ValueError, match="libfoo.so.1 not found"):
        parse_ldd("\tlibfoo.so.1 => not found\n")


def test_add_host_path_keeps_the_symlinks_on_the_way(tmp_path):
    (tmp_path / "usr/lib").mkdir(parents=True)
    (tmp_path / "usr/lib/libx.so.1.2").write_bytes(b"ELF")
    (tmp_path / "usr/lib/libx.so.1").symlink_to("libx.so.1.2")
    (tmp_path / "lib").symlink_to("usr/lib")
    layer = Layer()
    resolved = add_host_path(layer, str(tmp_path / "lib/libx.so.1"))
    assert resolved == str(tmp_path / "usr/lib/libx.so.1.2")
    e = layer.entries
    assert e[str(tmp_path / "lib")].target == "usr/lib"
    assert e[str(tmp_path / "usr/lib/libx.so.1")].target == "libx.so.1.2"
    assert e[resolved].kind == "file"


def test_parse_requirements():
    assert parse_requirements("# c\nDjango==5.2.19\nprometheus_client==0.26.0  # x\n\n") == {
        "django": "5.2.19", "prometheus-client": "0.26.0"}
    with pytest.raises(ValueError, match="not an exact pin"):
        parse_requirements("django>=5\n")


def test_archive_tar_lists_blobs_after_the_layout(tmp_path):
    write_archive(str(tmp_path / "x.tar"), "x:1", small_layer(tmp_path), ImageConfig(["/x"]))
    with tarfile.open(tmp_path / "x.tar") as tar:
        names = tar.getnames()
    assert names[:4] == ["oci-layout", "index.json", "blobs", "blobs/sha256"]
    assert len(names) == 7
