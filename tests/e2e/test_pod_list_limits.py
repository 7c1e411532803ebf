"""Bounded memory for the pod list (issue 15): a PodList bloated with fields podmeter does not use
(managedFields, big annotations) is parsed keeping only what podmeter uses, and one over the body
limit (16 MiB) is refused, counted, and never read whole, while the cgroup metrics keep flowing.
Before, a 50 MB answer became a JSON DOM and podmeter's RSS rose to ~420 MiB (the DaemonSet's
limit is 128Mi). Runs podmeter on the v2-systemd fixture tree; about 15 s."""
import json
import os
import subprocess
import time

from harness import FIXTURES, free_port, http_get, parse, podmeter_bin, stop_process

ROOT = os.path.join(FIXTURES, "v2-systemd")
# podmeter idles at ~13 MiB (10 of it the binary's and libraries' pages; ~27 MiB with civetweb's
# 768 HTTP workers before issue 16); the body, its buffer growth and what is kept of it come on top. Before, a 12 MiB PodList of this kind peaked at ~175 MiB.
MAX_PEAK_RSS_KIB = 80 * 1024


def bloated_podlist(path, target_bytes):
    """The fixture's PodList, each pod given managedFields (many small objects: the worst case for
    a DOM) and a last-applied-configuration annotation, until the file is about target_bytes."""
    with open(os.path.join(ROOT, "pods.json")) as f:
        doc = json.load(f)
    per_pod = target_bytes // len(doc["items"])
    for item in doc["items"]:
        entries = per_pod // 2 // 24
        item["metadata"]["managedFields"] = [{"f:x": {"f:%d" % i: {}}} for i in range(entries)]
        item["metadata"].setdefault("annotations", {})[
            "kubectl.kubernetes.io/last-applied-configuration"] = "x" * (per_pod // 2)
    with open(path, "w") as f:
        json.dump(doc, f)
    return os.path.getsize(path)


def run_podmeter(pods_file, seconds):
    """podmeter on the fixture tree with `pods_file` for `seconds`: (last scrape, peak RSS KiB)."""
    port = free_port()
    proc = subprocess.Popen(
        [podmeter_bin(), "--listen", f"127.0.0.1:{port}", "--cgroup-root",
         os.path.join(ROOT, "sys/fs/cgroup"), "--proc-root", os.path.join(ROOT, "proc"),
         "--pods-file", pods_file, "--pods-interval", "1", "--no-relay"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + seconds
        text = ""
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"podmeter exited with {proc.returncode}"
            try:
                status, body, _ = http_get(f"http://127.0.0.1:{port}/metrics", timeout=5)
                if status == 200:
                    text = body.decode()
            except OSError:
                pass
            time.sleep(0.5)
        with open(f"/proc/{proc.pid}/status") as f:
            hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
        return text, hwm
    finally:
        stop_process(proc)


def pod_names(samples):
    return {dict(labels).get("pod") for (name, labels) in samples if name == "podmeter_pod_info"}


def test_bloated_podlist_under_the_limit_is_parsed_within_bounds(tmp_path):
    size = bloated_podlist(tmp_path / "pods.json", 12 << 20)
    assert 11 << 20 < size < 16 << 20, size
    text, hwm = run_podmeter(str(tmp_path / "pods.json"), 5)
    samples = parse(text)
    assert pod_names(samples) == {"rust-api-7c9d8f6b5-00000", "go-api-7c9d8f6b5-00001",
                                  "django-api-7c9d8f6b5-00002"}, text
    assert not [k for k in samples if k[0] == "podmeter_pod_source_errors_total" and samples[k] > 0]
    assert hwm <= MAX_PEAK_RSS_KIB, f"peak RSS {hwm} KiB parsing a {size}-byte PodList"


def test_50mb_podlist_is_refused_and_cgroup_metrics_keep_flowing(tmp_path):
    size = bloated_podlist(tmp_path / "pods.json", 50 << 20)
    assert size > 48 << 20, size
    text, hwm = run_podmeter(str(tmp_path / "pods.json"), 6)
    samples = parse(text)
    refused = [v for (n, l), v in samples.items()
               if n == "podmeter_pod_source_errors_total" and ("reason", "body_too_large") in l]
    assert refused and refused[0] >= 1, text
    assert any(n == "podmeter_pod_cpu_usage_seconds_total" for n, _ in samples), text
    assert [v for (n, _), v in samples.items() if n == "podmeter_samples_total"][0] >= 4
    assert hwm <= MAX_PEAK_RSS_KIB, f"peak RSS {hwm} KiB with a {size}-byte PodList"
