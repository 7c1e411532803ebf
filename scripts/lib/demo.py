"""Runs podmeter against a demo pod in real cgroup v1 and prints what it exports."""
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from kubepods_v1 import KubepodsContainer, v1_mounts

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECONDS = int(os.environ.get("DEMO_SECONDS", "10"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def main():
    if os.geteuid() != 0:
        sys.exit("demo: run as root (it creates cgroups under /sys/fs/cgroup).")
    if "memory" not in v1_mounts():
        sys.exit("demo: this machine has no cgroup v1 memory controller; on cgroup v2 hosts run "
                 "build/exporter/podmeter directly and open http://127.0.0.1:10101/metrics.")
    port = free_port()
    with KubepodsContainer() as c:
        c.write("cpu", "cpu.cfs_quota_us", 5000)
        holder = c.spawn(["python3", "-c", "b=bytearray(64<<20)\nfor i in range(0,len(b),4096): b[i]=1\n"
                          "print('ready',flush=True)\nimport time; time.sleep(600)"],
                         stdout=subprocess.PIPE, text=True)
        holder.stdout.readline()
        c.spawn(["python3", "-c", "while True: pass"])
        print(f"demo pod {c.pod_uid}: container {c.container_id[:12]}, CPU limit 50m, ~64 MiB held")
        pm = subprocess.Popen([os.path.join(ROOT, "build/exporter/podmeter"),
                               "--listen", f"127.0.0.1:{port}"])
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    get(base + "/healthz")
                    break
                except OSError:
                    time.sleep(0.1)
            print(f"podmeter serving {base}/metrics; sampling for {SECONDS} s ...")
            first = get(base + "/metrics")
            for i in range(SECONDS):
                time.sleep(1)
                print(f"  {i + 1}/{SECONDS} s", end="\r", flush=True)
            last = get(base + "/metrics")
            print()
            pick = re.compile(r'^podmeter_(container|pod)_\S*pod="%s"' % c.pod_uid)
            lines = [l for l in last.splitlines() if pick.match(l)]
            print("\n".join(lines))

            def val(text, name):
                for l in text.splitlines():
                    if l.startswith(name + "{") and c.pod_uid in l and "container=" in l:
                        return float(l.rsplit(" ", 1)[1])
                return 0.0
            cpu = (val(last, "podmeter_container_cpu_usage_seconds_total") -
                   val(first, "podmeter_container_cpu_usage_seconds_total")) / SECONDS
            thr = (val(last, "podmeter_container_cpu_cfs_throttled_periods_total") -
                   val(first, "podmeter_container_cpu_cfs_throttled_periods_total"))
            per = (val(last, "podmeter_container_cpu_cfs_periods_total") -
                   val(first, "podmeter_container_cpu_cfs_periods_total"))
            ws = val(last, "podmeter_container_memory_working_set_bytes") / (1 << 20)
            print(f"\nsummary: CPU {cpu * 1000:.1f}m of a 50m limit, throttled in "
                  f"{100 * thr / max(per, 1):.0f}% of periods, working set {ws:.2f} MiB "
                  f"(kubectl top would say {round(ws)}Mi)")
        finally:
            pm.send_signal(signal.SIGTERM)
            pm.wait(timeout=10)
    print("demo cgroups and processes removed")


if __name__ == "__main__":
    main()
