#!/usr/bin/env python3
"""Copies the kernel's own cgroup files out of a VM run's console log into
tests/fixtures/v2-kernel/<role>/<file>, where make_fixtures.py takes them for the v2 tree.

    PODMETER_VM_LOG=/tmp/console.log python3 -m pytest tests/vm   # keeps the console log
    python3 tests/vm/capture_kernel_files.py /tmp/console.log

Roles: the pods and containers of tests/vm/guest/kubepods_v2.sh, from the `t1` snapshot (busy
loop under cpu.max, 96 MiB holder, late server) and the `oom` snapshot (after the group kill).
Only controller files are taken; cgroup.procs/threads stay the fixture's own (its /proc tree).
"""
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import vm  # noqa: E402
from test_kubepods_v2 import CONTAINER_DIR, POD_DIR  # noqa: E402

OUT = os.path.join(HERE, "..", "fixtures", "v2-kernel")
FILES = ("cpu.stat", "cpu.max", "cpu.weight", "memory.current", "memory.stat", "memory.max",
         "memory.events", "memory.oom.group", "pids.current", "pids.max", "cpu.pressure",
         "memory.pressure", "io.pressure")
ROLES = {  # role: (snapshot, cgroup)
    "pod-cpu": ("t1", POD_DIR["cpu"]), "container-cpu": ("t1", CONTAINER_DIR["cpu"]),
    "pod-mem": ("t1", POD_DIR["mem"]), "container-mem": ("t1", CONTAINER_DIR["mem"]),
    "container-web": ("t1", CONTAINER_DIR["web"]),
    "pod-oom": ("oom", POD_DIR["oom"]), "container-oom": ("oom", CONTAINER_DIR["oom"]),
}


def main(log):
    with open(log, errors="replace") as f:
        blocks, status = vm.parse_console(f.read())
    if status != "ok":
        sys.exit(f"{log}: the run did not finish ok ({status})")
    shutil.rmtree(OUT, ignore_errors=True)
    for role, (snap, rel) in ROLES.items():
        os.makedirs(os.path.join(OUT, role))
        for name in FILES:
            key = f"{snap}:{rel}/{name}"
            if key not in blocks:
                sys.exit(f"{log}: no block {key}")
            with open(os.path.join(OUT, role, name), "w") as f:
                f.write(blocks[key])
    with open(os.path.join(OUT, "KERNEL"), "w") as f:
        f.write(blocks["kernel"])
    print("written under", os.path.normpath(OUT))


if __name__ == "__main__":
    main(sys.argv[1])
