"""The one-node cluster of scripts/cluster, shared by the tests of this directory: the host's
state is recorded before `up`, the cluster is brought up once per session, and `down` runs at
the end whatever happened (test_teardown.py checks what it left behind)."""
import fcntl
import os
import time

import pytest

from cluster_lib import cluster, host_snapshot


def pytest_configure(config):
    """One session at a time on this host's shared parts (cgroups under /kubepods, fixed ports,
    the one-node cluster): CI's run, a developer's run and other worktrees wait for each other.
    The lock is held until pytest exits (taken once when both directories run in one session)."""
    if os.environ.get("PODMETER_HOST_LOCKED") == str(os.getpid()):
        return
    os.environ["PODMETER_HOST_LOCKED"] = str(os.getpid())
    config._podmeter_host_lock = open("/run/lock/podmeter-host.lock", "w")
    fcntl.flock(config._podmeter_host_lock, fcntl.LOCK_EX)


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
