"""Fixtures of the image tests: the archives built once by scripts/images into a temp directory,
and a private containerd to import and run them."""
import os
import subprocess
import sys
import tempfile
import time

import pytest

from containerd_harness import IMAGES, SHIM_DIRS, Containerd, ensure_containerd


@pytest.fixture(scope="session")
def images_dir(tmp_path_factory):
    """Every archive, built by `scripts/images build` (the repository's builds are incremental)."""
    out = tmp_path_factory.mktemp("images")
    started = time.monotonic()
    done = subprocess.run([sys.executable, IMAGES, "build"], capture_output=True, text=True,
                          env={**os.environ, "PODMETER_IMAGES_DIR": str(out)}, timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    print(f"\nscripts/images build: {time.monotonic() - started:.0f} s\n{done.stdout}")
    return str(out)


@pytest.fixture(scope="session")
def containerd():
    if os.geteuid() != 0:
        pytest.skip("needs root: containerd and runc")
    bin_dir = ensure_containerd()
    made = [d for d in SHIM_DIRS if not os.path.exists(d)]
    workdir = tempfile.mkdtemp(prefix="podmeter-images-", dir="/var/tmp")
    rundir = tempfile.mkdtemp(prefix="podmeter-images-", dir="/run")
    daemon = Containerd(bin_dir, workdir, rundir)
    yield daemon
    daemon.stop()
    for d in made:  # only if empty: another containerd may have started to use them
        try:
            os.rmdir(d)
        except OSError:
            pass
