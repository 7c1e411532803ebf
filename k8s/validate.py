"""Validates rendered kustomize output for k8s/test.sh.

Usage: validate.py K8S_VERSION[,K8S_VERSION...] NAME=RENDERED.yaml...

  - every core object: strict schema validation (unknown fields rejected) with
    kubernetes-validate, against each requested Kubernetes version (or the closest one the
    installed kubernetes-validate ships, said so in the output);
  - every custom resource: the vendored openAPIV3Schema of its CRD (crds/*-schema.yaml: the
    k6 operator's TestRun, prometheus-operator's ServiceMonitor, PodMonitor and
    PrometheusRule), made strict the way the API server's strict field validation is
    (unknown fields rejected), with python jsonschema; a custom resource without a vendored
    schema fails;
  - the project's own rules (check_*()): what docs/kubernetes.md and the lab rely on.

Prints each failure and a count per section (every check with VERBOSE=1) and a summary;
exits 1 on any failure.
"""

import copy
import glob
import json
import os
import re
import sys

import jsonschema
import kubernetes_validate
import yaml
from kubernetes_validate import utils as kv_utils

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CRD_SCHEMAS = os.path.join(HERE, "crds", "*-schema.yaml")
PROMETHEUS_YML = os.path.join(HERE, "overlays", "monitoring", "prometheus.yml")
DASHBOARDS = ("rust-vs-go-vs-django", "soak", "squeeze", "podmeter")
# What client-side `kubectl apply` can store in its last-applied annotation (server-side
# apply has no such limit; a ConfigMap holds up to 1 MiB).
CLIENT_SIDE_APPLY_MAX_BYTES = 262144

failures = []
passes = 0


VERBOSE = os.environ.get("VERBOSE") == "1"
section_passes = 0


def ok(message):
    global passes, section_passes
    passes += 1
    section_passes += 1
    if VERBOSE:
        print(f"  ok    {message}")


def section(title):
    """Ends the previous section with its count of passed checks and starts a new one."""
    global section_passes
    if section_passes:
        print(f"  {section_passes} checks ok")
    section_passes = 0
    if title:
        print(f"\n== {title}")


def fail(message):
    failures.append(message)
    print(f"  FAIL  {message}")


def expect(condition, message):
    (ok if condition else fail)(message)


def version_tuple(v):
    return tuple(int(x) for x in re.findall(r"\d+", v)[:2])


def pick_version(wanted, shipped):
    """The shipped version equal to `wanted` (major.minor), else the closest one."""
    by_minor = {version_tuple(v): v for v in shipped}
    want = version_tuple(wanted)
    if want in by_minor:
        return by_minor[want], False
    closest = min(by_minor, key=lambda t: (abs(t[1] - want[1]) if t[0] == want[0] else 999, -t[1]))
    return by_minor[closest], True


def strictify(schema):
    """Rejects unknown fields: additionalProperties false wherever a schema lists properties
    and neither allows extra ones nor preserves unknown fields (structural-schema pruning)."""
    schema = copy.deepcopy(schema)

    def walk(node, is_root):
        if isinstance(node, dict):
            # Go's RE2 takes an inline flag anywhere ("^(?i)(abort|warn)?$", prometheus-
            # operator); Python's re only at the start, where it means the same here.
            if isinstance(node.get("pattern"), str) and "(?i)" in node["pattern"]:
                node["pattern"] = "(?i)" + node["pattern"].replace("(?i)", "")
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for key, value in node.items():
                if key == "properties":
                    for prop in value.values():
                        walk(prop, False)
                elif key in ("items", "additionalProperties", "not"):
                    walk(value, False)
                elif key in ("allOf", "anyOf", "oneOf"):
                    for sub in value:
                        walk(sub, False)
        elif isinstance(node, list):
            for item in node:
                walk(item, False)

    walk(schema, True)
    # metadata is validated by the API server's ObjectMeta, not by the CRD schema.
    schema["properties"]["metadata"] = {"type": "object"}
    return schema


def object_name(doc):
    meta = doc.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{doc.get('kind')}/{(ns + '/') if ns else ''}{meta.get('name')}"


def load_cr_validators():
    """{(apiVersion, kind): validator} for every vendored CRD schema in crds/."""
    validators = {}
    for path in sorted(glob.glob(CRD_SCHEMAS)):
        with open(path) as fh:
            vendored = yaml.safe_load(fh)
        schema = strictify(vendored["openAPIV3Schema"])
        jsonschema.Draft7Validator.check_schema(schema)
        key = (f"{vendored['group']}/{vendored['version']}", vendored["kind"])
        validators[key] = (jsonschema.Draft7Validator(schema), os.path.basename(path))
    return validators


def is_custom_resource(doc, cr_validators):
    group = doc.get("apiVersion", "").rpartition("/")[0]
    return any(key[0].rpartition("/")[0] == group for key in cr_validators)


def validate_core(label, docs, versions, cr_validators):
    for doc in docs:
        if is_custom_resource(doc, cr_validators):
            continue
        for shown, version in versions:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
                ok(f"{label}: {object_name(doc)} valid (strict) on Kubernetes {shown}")
            except kv_utils.ValidationError as e:
                path = "/".join(str(p) for p in e.path)
                fail(f"{label}: {object_name(doc)} on Kubernetes {shown}: {path}: {e.message}")
            except kv_utils.SchemaNotFoundError as e:
                fail(f"{label}: {object_name(doc)}: no schema on Kubernetes {shown}: {e}")


def validate_custom_resources(label, docs, cr_validators):
    for doc in docs:
        if not is_custom_resource(doc, cr_validators):
            continue
        key = (doc.get("apiVersion"), doc.get("kind"))
        if key not in cr_validators:
            fail(f"{label}: {object_name(doc)}: no vendored CRD schema for {key[0]} {key[1]}")
            continue
        validator, schema_file = cr_validators[key]
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        for e in errors:
            fail(f"{label}: {object_name(doc)}: {'/'.join(str(p) for p in e.path)}: {e.message}")
        if not errors:
            ok(f"{label}: {object_name(doc)} valid (strict) against crds/{schema_file}")


def find(docs, kind, name):
    for doc in docs:
        if doc.get("kind") == kind and doc["metadata"]["name"] == name:
            return doc
    return None


SERVERS = {"rust-api": 30080, "go-api": 30081, "django-api": 30082, "actix-api": 30083, "hyper-api": 30084,
           "fasthttp-api": 30085, "flask-api": 30086}


def check_base(label, docs, cpu_request, cpu_limit, want_hpa):
    ns = find(docs, "Namespace", "podmeter-bench")
    expect(ns is not None, f"{label}: namespace podmeter-bench")
    for doc in docs:
        if doc["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
            expect(doc["metadata"].get("namespace") == "podmeter-bench", f"{label}: {object_name(doc)} in podmeter-bench")
    for name, node_port in SERVERS.items():
        dep = find(docs, "Deployment", name)
        if dep is None:
            fail(f"{label}: Deployment {name} missing")
            continue
        pod = dep["spec"]["template"]
        c = pod["spec"]["containers"][0]
        res = c["resources"]
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        expect(
            dep["spec"]["replicas"] == 2
            and dep["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": name}
            and pod["metadata"]["labels"]["app.kubernetes.io/name"] == name
            and pod["metadata"]["annotations"].get("podmeter.io/scrape") == "true"
            and pod["metadata"]["annotations"].get("podmeter.io/port") == "8080"
            and res["requests"]["cpu"] == cpu_request
            and res["limits"]["cpu"] == cpu_limit
            and "memory" in res["requests"]
            and "memory" in res["limits"]
            and env.get("PORT") == "8080"
            and c["ports"][0]["containerPort"] == 8080
            and c["readinessProbe"]["httpGet"]["path"] == "/health"
            and c["livenessProbe"]["httpGet"]["path"] == "/health",
            f"{label}: Deployment {name}: 2 replicas, cpu {cpu_request}/{cpu_limit}, PORT 8080, "
            "probes on /health, scrape annotations",
        )
        delay, timeout = env.get("SHUTDOWN_DELAY_SECONDS"), env.get("SHUTDOWN_TIMEOUT_SECONDS")
        grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
        expect(
            delay is not None and delay.isdigit() and int(delay) >= 1
            and timeout is not None and timeout.isdigit()
            and int(delay) + int(timeout) + 2 <= grace,
            f"{label}: Deployment {name}: SHUTDOWN_DELAY_SECONDS >= 1 (kube-proxy drops the "
            "endpoint meanwhile), delay + SHUTDOWN_TIMEOUT_SECONDS + 2 s <= terminationGracePeriodSeconds",
        )
        svc = find(docs, "Service", name)
        expect(
            svc is not None
            and svc["spec"]["type"] == "NodePort"
            and svc["spec"]["ports"][0]["nodePort"] == node_port
            and svc["spec"]["selector"] == {"app.kubernetes.io/name": name},
            f"{label}: Service {name}: NodePort {node_port}",
        )
        hpa = find(docs, "HorizontalPodAutoscaler", name)
        if want_hpa:
            expect(
                hpa is not None
                and hpa["apiVersion"] == "autoscaling/v2"
                and hpa["spec"]["minReplicas"] == 2
                and hpa["spec"]["maxReplicas"] == 10
                and hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 50
                and hpa["spec"]["scaleTargetRef"]["name"] == name,
                f"{label}: HPA {name}: autoscaling/v2, 2..10 at 50 % CPU",
            )
        else:
            expect(hpa is None, f"{label}: no HPA {name}")

    ds = find(docs, "DaemonSet", "podmeter")
    if ds is None:
        fail(f"{label}: DaemonSet podmeter missing")
        return
    spec = ds["spec"]["template"]["spec"]
    c = spec["containers"][0]
    sc = c["securityContext"]
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    expect(spec.get("hostPID") is True, f"{label}: podmeter hostPID")
    expect(
        sc["capabilities"]["drop"] == ["ALL"]
        and set(sc["capabilities"]["add"]) <= {"SYS_PTRACE", "DAC_READ_SEARCH", "NET_ADMIN"}
        and sc["readOnlyRootFilesystem"] is True
        and sc["allowPrivilegeEscalation"] is False
        and not sc.get("privileged"),
        f"{label}: podmeter drops ALL capabilities, adds only SYS_PTRACE/DAC_READ_SEARCH/NET_ADMIN, read-only root",
    )
    expect(
        all(mounts.get(p, {}).get("readOnly") for p in ("/host/proc", "/host/sys/fs/cgroup")),
        f"{label}: podmeter mounts /host/proc and /host/sys/fs/cgroup read-only",
    )
    args = c["args"]
    expect(
        "--pod-source=kubelet" in args
        and "--node-name=$(NODE_NAME)" in args
        and "--cgroup-root=/host/sys/fs/cgroup" in args
        and "--proc-root=/host/proc" in args
        and "--insecure-skip-tls-verify" not in args
        and c["livenessProbe"]["httpGet"]["path"] == "/healthz"
        and c["readinessProbe"]["httpGet"]["path"] == "/healthz"
        and c["ports"][0]["containerPort"] == 10101,
        f"{label}: podmeter args (the kubelet's certificate verified), /healthz probes, port 10101",
    )
    env = {e["name"]: e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") for e in c["env"]}
    expect(env.get("NODE_NAME") == "spec.nodeName" and env.get("NODE_IP") == "status.hostIP"
           and env.get("POD_UID") == "metadata.uid",
           f"{label}: NODE_NAME, NODE_IP and POD_UID (the kubelet's kubepods tree) from the "
           "downward API")
    role = find(docs, "ClusterRole", "podmeter")
    rules = sorted((tuple(r["resources"]), tuple(sorted(r["verbs"]))) for r in role["rules"])
    expect(rules == [(("nodes/pods",), ("get",)), (("pods",), ("list", "watch"))],
           f"{label}: ClusterRole podmeter: nodes/pods get, pods list/watch only")
    binding = find(docs, "ClusterRoleBinding", "podmeter")
    expect(binding["subjects"][0]["namespace"] == "podmeter-bench" and spec["serviceAccountName"] == "podmeter",
           f"{label}: ClusterRoleBinding to ServiceAccount podmeter-bench/podmeter")
    svc = find(docs, "Service", "podmeter")
    expect(svc["spec"].get("clusterIP") == "None", f"{label}: podmeter Service is headless")


def check_k6(label, docs):
    cm = find(docs, "ConfigMap", "k6-scripts")
    if cm is None:
        fail(f"{label}: ConfigMap k6-scripts missing")
        return
    keys = set(cm["data"])
    k6_dir = os.path.join(REPO, "k6")
    want = set()
    for root, _, files in os.walk(k6_dir):
        for f in files:
            if f.endswith(".js"):
                rel = os.path.relpath(os.path.join(root, f), k6_dir)
                want.add(rel.replace("/", "-"))
                if rel.replace("/", "-") in keys:
                    with open(os.path.join(root, f)) as fh:
                        if fh.read() != cm["data"][rel.replace("/", "-")]:
                            fail(f"{label}: ConfigMap key {rel} differs from k6/{rel}")
    expect(keys == want, f"{label}: ConfigMap k6-scripts holds every k6/**/*.js ({len(want)} files)")
    runs = [d for d in docs if d["kind"] == "TestRun"]
    expect(len(runs) >= 8, f"{label}: {len(runs)} TestRuns")
    for run in runs:
        name = run["metadata"]["name"]
        runner = run["spec"]["runner"]
        vols = {v["name"]: v for v in runner["volumes"]}
        mount = next(m for m in runner["volumeMounts"] if m["name"] in vols)
        items = vols[mount["name"]]["configMap"]["items"]
        paths = {os.path.join(mount["mountPath"], i["path"]): i["key"] for i in items}
        local = run["spec"]["script"].get("localFile")
        env = {e["name"]: e.get("value") for e in runner.get("env", [])}
        expect(
            vols[mount["name"]]["configMap"]["name"] == "k6-scripts"
            and {i["key"] for i in items} == keys
            and local in paths
            and "lib/bench.js" in {i["path"] for i in items}
            and "experimental-prometheus-rw" in run["spec"].get("arguments", "")
            and env.get("K6_PROMETHEUS_RW_SERVER_URL", "").endswith("/api/v1/write")
            and env.get("PROFILE") == "full"
            and run["metadata"]["labels"].get("podmeter.io/k6") == name,
            f"{label}: TestRun {name}: runs {local} from k6-scripts (all keys mounted), remote write, PROFILE=full",
        )


def check_monitoring(label, docs, base):
    """The ServiceMonitor and PodMonitor select what base/ deploys, on the ports it names, as
    prometheus.yml does; the dashboards are ConfigMaps the Grafana sidecar loads."""
    release = {"release": "kube-prometheus-stack"}
    for doc in docs:
        expect(doc["metadata"].get("namespace") == "podmeter-bench", f"{label}: {object_name(doc)} in podmeter-bench")
    with open(PROMETHEUS_YML) as fh:
        plain = yaml.safe_load(fh)
    interval = plain["global"]["scrape_interval"]
    jobs = {job["job_name"]: job for job in plain["scrape_configs"]}

    smon = find(docs, "ServiceMonitor", "podmeter")
    svc = find(base, "Service", "podmeter")
    if smon is None or svc is None:
        fail(f"{label}: ServiceMonitor podmeter (or base's Service podmeter) missing")
    else:
        sel = smon["spec"]["selector"]["matchLabels"]
        ep = smon["spec"]["endpoints"][0]
        expect(
            sel.items() <= svc["metadata"]["labels"].items()
            and ep["port"] in {p["name"] for p in svc["spec"]["ports"]}
            and ep.get("honorLabels") is True
            and ep["interval"] == interval
            and release.items() <= smon["metadata"]["labels"].items(),
            f"{label}: ServiceMonitor podmeter selects base's Service podmeter, port {ep['port']}, "
            f"honorLabels, every {interval} (= prometheus.yml), label release",
        )
        expect(
            jobs.get("podmeter", {}).get("honor_labels") is True,
            f"{label}: prometheus.yml job podmeter honours podmeter's labels too",
        )
    pmon = find(docs, "PodMonitor", "reference-servers")
    servers = [d for d in base if d["kind"] == "Deployment"
               and d["metadata"]["labels"].get("app.kubernetes.io/component") == "reference-server"]
    if pmon is None or not servers:
        fail(f"{label}: PodMonitor reference-servers (or base's server Deployments) missing")
    else:
        sel = pmon["spec"]["selector"]["matchLabels"]
        ep = pmon["spec"]["podMetricsEndpoints"][0]
        drops_relayed = {"sourceLabels": ["__meta_kubernetes_pod_annotation_podmeter_io_scrape"],
                         "regex": "true", "action": "drop"}
        for dep in servers:
            pod = dep["spec"]["template"]
            expect(
                sel.items() <= pod["metadata"]["labels"].items()
                and ep["port"] in {p["name"] for p in pod["spec"]["containers"][0]["ports"]},
                f"{label}: PodMonitor reference-servers selects {dep['metadata']['name']}'s pods, port {ep['port']}",
            )
        expect(
            drops_relayed in ep.get("relabelings", [])
            and ep["interval"] == interval
            and release.items() <= pmon["metadata"]["labels"].items(),
            f"{label}: PodMonitor reference-servers skips pods podmeter relays, every {interval}, label release",
        )
        expect(
            any(r.get("action") == "drop" and r.get("regex") == "true"
                and r.get("source_labels") == drops_relayed["sourceLabels"]
                for r in jobs.get("reference-servers", {}).get("relabel_configs", [])),
            f"{label}: prometheus.yml job reference-servers skips relayed pods too",
        )
    rule = find(docs, "PrometheusRule", "podmeter")
    expect(rule is not None and release.items() <= rule["metadata"]["labels"].items(),
           f"{label}: PrometheusRule podmeter, label release")
    expect(plain.get("rule_files") == ["podmeter.rules.yml"], f"{label}: prometheus.yml loads podmeter.rules.yml")

    uids = {}
    for name in DASHBOARDS:
        cm = find(docs, "ConfigMap", f"podmeter-dashboard-{name}")
        if cm is None:
            fail(f"{label}: ConfigMap podmeter-dashboard-{name} missing")
            continue
        data = cm.get("data", {})
        try:
            dashboard = json.loads(data.get(f"{name}.json", ""))
        except ValueError as e:
            fail(f"{label}: ConfigMap podmeter-dashboard-{name}: {name}.json is not JSON: {e}")
            continue
        size = sum(len(v.encode()) for v in data.values())
        uids.setdefault(dashboard.get("uid"), []).append(name)
        expect(
            list(data) == [f"{name}.json"]
            and cm["metadata"]["labels"].get("grafana_dashboard") == "1"
            and dashboard.get("uid") and dashboard.get("title")
            and size < CLIENT_SIDE_APPLY_MAX_BYTES,
            f"{label}: ConfigMap podmeter-dashboard-{name}: {name}.json with uid and title, "
            f"label grafana_dashboard=1, {size} bytes (< {CLIENT_SIDE_APPLY_MAX_BYTES})",
        )
    expect(all(len(v) == 1 for v in uids.values()), f"{label}: dashboard uids are unique")


def check_file_names(directory):
    """One resource per file, named <metadata.name>-<kind in lowerCamelCase>.yaml."""
    with open(os.path.join(directory, "kustomization.yaml")) as fh:
        kustomization = yaml.safe_load(fh)
    for res in kustomization.get("resources", []):
        path = os.path.join(directory, res)
        if os.path.isdir(path):
            continue
        with open(path) as fh:
            objs = [d for d in yaml.safe_load_all(fh) if d]
        kind = objs[0]["kind"]
        want = f"{objs[0]['metadata']['name']}-{kind[0].lower()}{kind[1:]}.yaml"
        expect(len(objs) == 1 and os.path.basename(path) == want,
               f"{os.path.relpath(path, REPO)}: one {kind}, file named {want}")


def main(argv):
    versions_wanted = argv[1].split(",")
    shipped = kv_utils.all_versions()
    versions = []
    print(f"kubernetes-validate {kubernetes_validate.__version__ if hasattr(kubernetes_validate, '__version__') else ''} "
          f"ships schemas for {min(shipped, key=version_tuple)} .. {max(shipped, key=version_tuple)}")
    for wanted in versions_wanted:
        version, substituted = pick_version(wanted, shipped)
        shown = version_tuple(version)
        shown = f"{shown[0]}.{shown[1]}"
        if substituted:
            print(f"NOTE: Kubernetes {wanted} schemas are not shipped; using the closest, {shown}")
        versions.append((shown, version))
    cr_validators = load_cr_validators()
    print("CRD schemas: " + ", ".join(f"{k[1]} {k[0]}" for k in sorted(cr_validators, key=lambda k: k[1])))

    rendered = {}
    for arg in argv[2:]:
        label, path = arg.split("=", 1)
        with open(path) as fh:
            rendered[label] = [d for d in yaml.safe_load_all(fh) if d]
        section(f"{label}: {len(rendered[label])} objects")
        validate_core(label, rendered[label], versions, cr_validators)
        validate_custom_resources(label, rendered[label], cr_validators)
        if label == "base":
            check_base(label, rendered[label], "100m", "500m", True)
        elif label == "overlays/squeeze":
            check_base(label, rendered[label], "50m", "50m", False)
        elif label == "overlays/k6":
            check_k6(label, rendered[label])
        elif label == "overlays/monitoring":
            check_monitoring(label, rendered[label], rendered.get("base", []))

    section("file layout")
    for d in ("base", "overlays/k6", "overlays/monitoring"):
        check_file_names(os.path.join(HERE, d))

    # The schema check must be able to fail: an unknown field and a wrong type are rejected.
    section("the validators reject bad input")
    bad = copy.deepcopy(find(rendered.get("overlays/k6", []), "TestRun", "soak") or {})
    if bad:
        bad["spec"]["paralelism"] = 1
        validator = cr_validators[("k6.io/v1alpha1", "TestRun")][0]
        expect(any(True for _ in validator.iter_errors(bad)), "TestRun with an unknown field is rejected")
    for kind, name, spoil in (
        ("ServiceMonitor", "podmeter", lambda d: d["spec"]["endpoints"][0].update(honorLabel=True)),
        ("PodMonitor", "reference-servers", lambda d: d["spec"].update(podMetricEndpoints=[])),
        ("PrometheusRule", "podmeter", lambda d: d["spec"]["groups"][0].update(rules="x")),
    ):
        bad = copy.deepcopy(find(rendered.get("overlays/monitoring", []), kind, name) or {})
        if bad:
            spoil(bad)
            validator = cr_validators[("monitoring.coreos.com/v1", kind)][0]
            expect(any(True for _ in validator.iter_errors(bad)), f"{kind} with an unknown field or wrong type is rejected")
    dep = copy.deepcopy(find(rendered.get("base", []), "Deployment", "go-api") or {})
    if dep:
        dep["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
        try:
            kubernetes_validate.validate(dep, versions[0][1], strict=True)
            fail("Deployment with an unknown field is accepted")
        except kv_utils.ValidationError:
            ok("Deployment with an unknown field is rejected")

    section(None)
    print(f"\n{passes} checks passed, {len(failures)} failed")
    for f in failures:
        print(f"  FAIL  {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
