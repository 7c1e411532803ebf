"""Issue 15, the start-up path bounded: 1,000 kubelet-shaped pods on real cgroup v1, created and
removed in cohorts over ~2 minutes while podmeter samples every second.

Each pod has a sandbox container (a copy of `sleep` named `pause`, as the runtime's pause
process) and one application container: every fourth one a server that listens at once
(`listen_after`, its start-up measured and joined to its pod), the others `sleep`, which never
listen (pending in the start-up watcher until their cgroup goes). A cohort of 20 pods is created
every 2.4 s and the cohort created two steps before is removed, so at most 40 pods (80
containers) are alive; the pods file (a kubelet PodList, sandboxes not in its statuses) follows
every step. podmeter runs with --stale-after 5 so the test can wait out the window in which a
removed pod's series are promised to stay.

Ground truth and bounds:
- RSS at the end, after the stale window, within 2 MiB of where it was after the first 100 pods
  (the same number of pods alive then as at the last step, printed too): its anonymous part
  (RssAnon: heap, stacks), where podmeter's state lives; VmRSS also counts the pages of the
  32 MiB binary and its libraries as code paths first run (printed). Before the
  churn, and again just before the baseline, a few dozen /metrics requests run the server's
  paths once (one thread serves every connection since issue 16; with civetweb's 768 workers
  each kept what its first request touched, 27 MiB until all had served);
- open fds at the end not above that point nor above the start (no slack: every eventfd and
  socket podmeter holds for a pod goes with it);
- no series of any removed pod (name, uid or container id) after the stale window;
- the start-up watcher finished with every container: 1,000 sandboxes skipped, 250 listened,
  750 vanished, none pending, and it watches no more directories than before the churn;
- no sandbox exported once its pod has been up for a step (its `pause` is moved into the cgroup
  after its exec; a sample may still catch the cgroup empty, as before runc moves its init in:
  a container not listed yet and not pause-only, served for that sample by design); the pods
  were exported by name while alive.
podmeter's own CPU over the churn is printed (no bound: 2 shared cores)."""
import json
import os
import shutil
import subprocess
import time

import pytest

from harness import ROOT, free_port, http_get, parse, podmeter_bin, stop_process
from kubepods_v1 import CONTROLLERS, KubepodsPod, podlist, v1_mounts

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or "memory" not in v1_mounts(), reason="needs root and cgroup v1 (memory)")

TOOLS = os.environ.get("PODMETER_TOOLS", os.path.join(ROOT, "build", "tests"))
TOTAL = 1000
COHORT = 20  # pods created per step
PERIOD = 2.4  # s between steps: 50 steps, 120 s
LIFE = 2  # steps a pod lives: ≤ 40 pods, 80 containers alive
LISTEN_EVERY = 4  # every 4th pod's application listens
INTERVAL = 1
STALE_AFTER = 5
BASELINE_AFTER = 100  # pods created when the baseline is taken
RSS_SLACK = 2 << 20
WARM_SCRAPES = 32  # the server's code paths and first buffers, before the baseline
NAMESPACE = "churn"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def rss_bytes(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(field + ":"))


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def write_atomically(path, doc):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f)
    os.rename(tmp, path)


class KubepodsParents:
    """kubepods/ and kubepods/burstable/ in every controller the pods use, made if missing and
    removed at the end (after every pod), so no pod's cleanup races another pod for them."""

    def __init__(self):
        mounts = v1_mounts()
        self.created = []
        for c in CONTROLLERS:
            for rel in ("kubepods", "kubepods/burstable"):
                d = os.path.join(mounts[c], rel)
                if not os.path.isdir(d):
                    os.mkdir(d)
                    self.created.append(d)

    def remove(self):
        for d in reversed(self.created):
            try:
                os.rmdir(d)
            except OSError:
                pass


class ChurnPod:
    """One pod: its cgroups, a sandbox and an application container, each with one process."""

    def __init__(self, index, pause_bin):
        self.name = f"churn-{index:04d}"
        self.listens = index % LISTEN_EVERY == 0
        self.pod = KubepodsPod().__enter__()
        try:
            self.sandbox = self.pod.container()
            # Moved in once it is `pause` (Popen returns after the exec): a sample never sees
            # the shell a spawn() would exec it from (as it may see runc's bootstrap).
            p = subprocess.Popen([pause_bin, "600"], start_new_session=True)
            self.sandbox.procs.append(p)
            for f in self.sandbox.procs_files():
                with open(f, "w") as out:
                    out.write(str(p.pid))
            self.app = self.pod.container()
            argv = ([os.path.join(TOOLS, "listen_after"), "0", "0", "v4", "600"]
                    if self.listens else ["sleep", "600"])
            self.app.spawn(argv, stdout=subprocess.DEVNULL)
        except BaseException:
            self.pod.cleanup()
            raise
        self.uid = self.pod.uid

    def labels(self):
        """Every label value podmeter could export this pod under."""
        return [f'"{self.name}"', self.uid, self.sandbox.id[:12], self.app.id[:12]]

    def remove(self):
        self.pod.cleanup()


class Podmeter:
    def __init__(self, pods_file, log_path):
        self.log = open(log_path, "w")
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [podmeter_bin(), "--listen", f"127.0.0.1:{port}", "--interval", str(INTERVAL),
             "--pods-file", pods_file, "--pods-interval", "0.5", "--stale-after",
             str(STALE_AFTER)], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while True:
            assert self.proc.poll() is None, f"podmeter exited; see {log_path}"
            try:
                if http_get(self.base + "/healthz", timeout=1)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "podmeter not healthy in 15 s"
            time.sleep(0.05)

    def text(self):
        status, body, _ = http_get(self.base + "/metrics", timeout=10)
        assert status == 200, status
        return body.decode()

    def warm_server(self, scrapes=WARM_SCRAPES):
        """A few /metrics requests: the server's paths and buffers in RSS before the baseline."""
        for _ in range(scrapes):
            self.text()

    def samples_total(self):
        return parse(self.text())[("podmeter_samples_total", ())]

    def after_next_sample(self):
        """The exposition of a sample that started after this call (two ticks of the counter)."""
        first = self.samples_total()
        deadline = time.monotonic() + 10 * INTERVAL
        while self.samples_total() < first + 2:
            assert time.monotonic() < deadline, "podmeter stopped sampling"
            time.sleep(0.1)
        return self.text()

    def state(self):
        # The fewest of a few reads: the connection of the scrape just answered may still be
        # closing (one fd for a moment).
        fds = []
        for _ in range(5):
            fds.append(fd_count(self.proc.pid))
            time.sleep(0.1)
        return {"rss": rss_bytes(self.proc.pid), "anon": rss_bytes(self.proc.pid, "RssAnon"),
                "fds": min(fds),
                "cpu": cpu_seconds(self.proc.pid), "t": time.monotonic()}

    def stop(self):
        stop_process(self.proc)
        self.log.close()


@pytest.fixture
def churn_env(tmp_path):
    """The kubepods parents, the pause binary, the pods file; every pod made is removed at the
    end, also on failure."""
    parents = KubepodsParents()
    pause = str(tmp_path / "pause")
    shutil.copy("/bin/sleep", pause)  # comm "pause": podmeter's sandbox test
    pods_file = str(tmp_path / "pods.json")
    write_atomically(pods_file, podlist([]))
    alive = []
    try:
        yield pause, pods_file, alive
    finally:
        for p in alive:
            p.remove()
        parents.remove()


def watch_state(samples):
    def one(name, **labels):
        want = tuple(sorted(labels.items()))
        return samples[(name, want)]
    return {
        "directories": one("podmeter_startup_watch_directories"),
        "pending": one("podmeter_startup_watch_pending_containers"),
        "exec_events_lost": one("podmeter_startup_exec_events_lost_total"),
        **{o: one("podmeter_startup_watch_containers_total", outcome=o)
           for o in ("listened", "never_listened", "sandbox", "vanished")},
    }


def test_a_churn_of_1000_pods_leaves_no_trace(churn_env, tmp_path, capsys):
    pause, pods_file, alive = churn_env
    pm = Podmeter(pods_file, str(tmp_path / "podmeter.log"))
    removed, seen, sandboxes_exported = [], set(), []
    try:
        pm.warm_server()
        before = watch_state(parse(pm.after_next_sample()))
        start = pm.state()
        baseline = last_step = None
        steps = TOTAL // COHORT
        t0 = time.monotonic()
        for step in range(steps):
            for i in range(step * COHORT, (step + 1) * COHORT):
                alive.append(ChurnPod(i, pause))
            if len(alive) > LIFE * COHORT:
                for p in alive[:COHORT]:
                    p.remove()
                    removed.append(p)
                del alive[:COHORT]
            write_atomically(pods_file, podlist(
                [(p.pod, p.name, NAMESPACE, [("app", p.app, 0)]) for p in alive]))
            # Until the next step: scrape as Prometheus would (names seen, no sandbox ever).
            next_step = t0 + (step + 1) * PERIOD
            while True:
                text = pm.text()
                seen.update(p.name for p in alive if f'pod="{p.name}"' in text)
                # Pods of earlier steps: a sample may catch a new sandbox's cgroup still empty,
                # a container not listed yet and not pause-only, served for that sample.
                sandboxes_exported += [p.name for p in alive[:-COHORT] if p.sandbox.id[:12] in text]
                if time.monotonic() + 1.0 > next_step:
                    break
                time.sleep(1.0)
            if (step + 1) * COHORT == BASELINE_AFTER:
                pm.warm_server()  # again, with an answer as large as the churn's
                baseline = pm.state()
            last_step = pm.state()
            time.sleep(max(0.0, next_step - time.monotonic()))
        churn = pm.state()
        for p in alive:
            p.remove()
            removed.append(p)
        alive.clear()
        write_atomically(pods_file, podlist([]))
        time.sleep(STALE_AFTER + 1)  # the promised window, then the next sample drops them
        text = pm.after_next_sample()
        end = pm.state()
        after = watch_state(parse(text))
        left = sorted({p.name for p in removed for v in p.labels() if v in text})
    finally:
        pm.stop()
        log = open(str(tmp_path / "podmeter.log")).read()

    wall = churn["t"] - start["t"]
    cpu = churn["cpu"] - start["cpu"]
    mib = 1 << 20
    with capsys.disabled():
        print(f"\n  {TOTAL} pods in {wall:.0f} s ({steps} steps of {COHORT}, ≤ {LIFE * COHORT} "
              f"pods alive): podmeter CPU {cpu:.1f} s = {cpu / wall:.3f} cores")
        for what, s in (("start", start), (f"after {BASELINE_AFTER} pods", baseline),
                        ("last step", last_step), ("end", end)):
            print(f"  {what:>15}: RSS {s['rss'] / mib:7.2f} MiB  (anonymous {s['anon'] / mib:7.2f} "
                  f"MiB)  fds {s['fds']:4d}")
        print(f"  start-up watcher before: {before}\n                   after:  {after}")
        print(f"  pods seen by name while alive: {len(seen)}/{TOTAL}")
    assert len(removed) == TOTAL
    assert not left, f"series of removed pods after --stale-after {STALE_AFTER}: {left[:10]}"
    assert not sandboxes_exported, sandboxes_exported[:10]
    assert len(seen) >= 0.9 * TOTAL, f"only {len(seen)} pods exported by name: see {log[-2000:]}"
    assert after["pending"] == 0, after
    # Not equal: a directory outside kubepods (a session scope) may go meanwhile.
    assert after["directories"] <= before["directories"], (before, after)
    listening = TOTAL // LISTEN_EVERY
    assert after["sandbox"] - before["sandbox"] == TOTAL, (before, after)
    assert after["listened"] - before["listened"] == listening, (before, after)
    assert after["vanished"] - before["vanished"] == TOTAL - listening, (before, after)
    assert end["anon"] <= baseline["anon"] + RSS_SLACK, (baseline, end)
    assert end["fds"] <= baseline["fds"], (baseline, end)
    assert end["fds"] <= start["fds"], (start, end)  # every pod's eventfd, watch, socket gone
