"""The one-node cluster of scripts/cluster, shared by the tests of this directory: the host's
state is recorded before `up`, the cluster is brought up once per session, and `down` runs at
the end whatever happened (test_teardown.py checks what it left behind)."""
import os
import sys
import time

import pytest

from cluster_lib import ROOT, cluster, host_snapshot

sys.path.insert(0, os.path.join(ROOT, "scripts", "lib"))
from host_lock import take_host_lock  # noqa: E402


def pytest_configure(config):
    take_host_lock(config)  # scripts/lib/host_lock.py


@pytest.fixture(scope="session")
def node():
    """The running one-node cluster; yields the host snapshot taken before `up`."""
    if os.geteuid() != 0:
        pytest.skip("the cluster needs root")
    # The binaries and the Debian packages `up` needs, first: the snapshot of the host's
    # iptables chains needs iptables-save, which a fresh machine gets from `up`'s apt-get.
    cluster("build", timeout=3600)
    cluster("down", timeout=300)
    before = host_snapshot()
    started = time.monotonic()
    try:
        res = cluster("up", timeout=3600)
        print(f"\ncluster up: {time.monotonic() - started:.1f} s\n{res.stdout}")
        yield before
    finally:
        cluster("down", timeout=300, check=False)
