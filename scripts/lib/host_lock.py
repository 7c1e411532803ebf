"""One test session at a time on this host's shared parts (cgroups under /kubepods, fixed ports,
the one-node cluster): CI's run, a developer's run and other worktrees wait for each other.

A caller that already holds the lock (`flock /run/lock/podmeter-host.lock ...` around a longer
sequence) sets PODMETER_HOST_LOCK_HELD=1: flock(1) locks an open file, and a second open of the
same file in a child would wait for its own parent forever."""
import fcntl
import os
import sys
import time

PATH = "/run/lock/podmeter-host.lock"


def take_host_lock(config):
    """Held until the process exits; taken once per process (tests/e2e and tests/cluster in one
    pytest session call it twice). Says so on stderr while it waits."""
    if os.environ.get("PODMETER_HOST_LOCK_HELD") == "1":
        return
    if os.environ.get("PODMETER_HOST_LOCKED") == str(os.getpid()):
        return
    os.environ["PODMETER_HOST_LOCKED"] = str(os.getpid())
    config._podmeter_host_lock = open(PATH, "w")
    try:
        fcntl.flock(config._podmeter_host_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    print(f"\nwaiting for {PATH} (another test, lab or cluster session on this host holds it; "
          "if you hold it yourself around this run, set PODMETER_HOST_LOCK_HELD=1)",
          file=sys.stderr, flush=True)
    t0 = time.monotonic()
    fcntl.flock(config._podmeter_host_lock, fcntl.LOCK_EX)
    print(f"got {PATH} after {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
