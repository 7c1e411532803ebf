"""One test session at a time on this host's shared parts (cgroups under /kubepods, fixed ports,
the one-node cluster): CI's run, a developer's run and other worktrees wait for each other."""
import fcntl
import os

PATH = "/run/lock/podmeter-host.lock"


def take_host_lock(config):
    """Held until the process exits; taken once per process (tests/e2e and tests/cluster in one
    pytest session call it twice)."""
    if os.environ.get("PODMETER_HOST_LOCKED") == str(os.getpid()):
        return
    os.environ["PODMETER_HOST_LOCKED"] = str(os.getpid())
    config._podmeter_host_lock = open(PATH, "w")
    fcntl.flock(config._podmeter_host_lock, fcntl.LOCK_EX)
