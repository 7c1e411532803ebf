#!/usr/bin/env bash
# Usage: bash k8s/test.sh        (VERBOSE=1: list every check)
# Renders k8s/base and every overlay with `kubectl kustomize`, then k8s/validate.py:
# strict schema validation of every core object against Kubernetes 1.30 and 1.34
# (kubernetes-validate, pinned in requirements.txt, in k8s/.venv), the custom resources
# (TestRun, ServiceMonitor, PodMonitor, PrometheusRule) against their CRD schemas (crds/), and
# the project's own rules. Then: the PrometheusRule is what gen-prometheusrule.py makes of
# rules/podmeter.rules.yml, and overlays/monitoring/prometheus.yml with that rules file passes
# `promtool check config` with Kubernetes SD (scripts/setup-promtool builds it; PROMTOOL_K8S
# overrides). Exits non-zero on any failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
K8S_VERSIONS="${K8S_VERSIONS:-1.30,1.34}"

# Runs a command, showing its output only if it fails.
quietly() {
  local log status=0
  log="$(mktemp)"
  "$@" >"$log" 2>&1 || status=$?
  if ((status != 0)); then
    cat "$log" >&2
    echo "k8s/test.sh: failed ($status): $*" >&2
  fi
  rm -f "$log"
  return "$status"
}

want="$(sha256sum requirements.txt)"
if [[ ! -f .venv/.installed || "$(<.venv/.installed)" != "$want" ]]; then
  if [[ ! -x .venv/bin/python ]] && ! python3 -m venv .venv >/dev/null 2>&1; then
    rm -rf .venv
    if command -v apt-get >/dev/null && ((EUID == 0)); then
      quietly apt-get install -y -qq python3-venv
    fi
    quietly python3 -m venv .venv
  fi
  quietly .venv/bin/pip install --disable-pip-version-check --no-input -r requirements.txt
  echo "$want" >.venv/.installed
fi

command -v kubectl >/dev/null || { echo "k8s/test.sh: needs kubectl (with kustomize)" >&2; exit 1; }
if [[ -z ${PROMTOOL_K8S:-} ]]; then
  "$here/../scripts/setup-promtool"   # silent when the pinned version is there
  PROMTOOL_K8S="$here/../.cache/bin/promtool-k8s"
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
status=0

# Everything below runs on a copy of the inputs (k8s/, k6/, dashboards/, rules/). The
# dashboards and the recording rules come from other branches: while NONE of them is in this
# tree, the copy gets stand-ins, said so (PENDING); once any is there, the real files are used
# and a missing one fails.
tree="$out/tree"
mkdir -p "$tree"
(cd .. && tar --exclude=k8s/.venv -cf - k8s k6 dashboards $([[ -d rules ]] && echo rules)) | tar -xf - -C "$tree"
if ! compgen -G "$tree/dashboards/*.json" >/dev/null; then
  echo "PENDING: dashboards/*.json not in this tree yet: overlays/monitoring rendered with stand-ins"
  for d in rust-vs-go-vs-django soak squeeze podmeter; do
    echo "{\"uid\": \"stand-in-$d\", \"title\": \"stand-in $d\"}" >"$tree/dashboards/$d.json"
  done
fi
rules_pending=
if [[ ! -f $tree/rules/podmeter.rules.yml ]]; then
  rules_pending=1
  echo "PENDING: rules/podmeter.rules.yml not in this tree yet: PrometheusRule and promtool checks on a stand-in"
  mkdir -p "$tree/rules"
  cat >"$tree/rules/podmeter.rules.yml" <<'EOF'
groups:
  - name: stand-in
    rules:
      - record: node:podmeter_container_cpu_usage_seconds:rate1m
        expr: sum by (node) (rate(podmeter_container_cpu_usage_seconds_total[1m]) * on (namespace, pod) group_left (node) podmeter_pod_info)
EOF
fi
gen="$tree/k8s/overlays/monitoring/gen-prometheusrule.py"
generated="$tree/k8s/overlays/monitoring/podmeter-prometheusRule.yaml"
if [[ -n $rules_pending ]]; then
  .venv/bin/python "$gen"
elif .venv/bin/python "$gen" --check; then
  echo "overlays/monitoring/podmeter-prometheusRule.yaml is up to date with rules/podmeter.rules.yml"
else
  status=1
fi
# The up-to-date check must be able to fail.
cp "$generated" "$out/generated"
echo "# edited by hand" >>"$generated"
if .venv/bin/python "$gen" --check >/dev/null; then
  echo "FAIL: gen-prometheusrule.py --check accepts an edited podmeter-prometheusRule.yaml" >&2
  status=1
fi
cp "$out/generated" "$generated"

args=()
cd "$tree/k8s"
for dir in base overlays/*/; do
  dir="${dir%/}"
  file="$out/${dir//\//_}.yaml"
  if kubectl kustomize "$dir" >"$file" 2>"$out/err"; then
    echo "rendered $dir: $(grep -c '^kind:' "$file") objects"
    args+=("$dir=$file")
  else
    echo "FAIL: kubectl kustomize $dir:" >&2
    cat "$out/err" >&2
    status=1
  fi
done
"$here/.venv/bin/python" validate.py "$K8S_VERSIONS" "${args[@]}" || status=1

echo
promdir="$out/prometheus"
mkdir -p "$promdir"
cp overlays/monitoring/prometheus.yml ../rules/podmeter.rules.yml "$promdir/"
if "$PROMTOOL_K8S" check config "$promdir/prometheus.yml" >"$out/promtool" 2>&1; then
  echo "promtool $("$PROMTOOL_K8S" --version 2>&1 | awk 'NR == 1 { print $3 }') (Kubernetes SD):" \
    "overlays/monitoring/prometheus.yml valid, with rules/podmeter.rules.yml$([[ -n $rules_pending ]] && echo ' (stand-in)'):" \
    "$(grep -o '[0-9]* rules found' "$out/promtool")"
else
  cat "$out/promtool" >&2
  echo "FAIL: promtool check config overlays/monitoring/prometheus.yml" >&2
  status=1
fi
# What the operator hands Prometheus: the PrometheusRule's spec as a rule file (the added
# intervals included; promtool also rejects repeated group names, which the schema cannot).
"$here/.venv/bin/python" -c 'import sys, yaml; yaml.safe_dump(yaml.safe_load(open(sys.argv[1]))["spec"], sys.stdout)' \
  overlays/monitoring/podmeter-prometheusRule.yaml >"$promdir/prometheusrule-spec.yml"
if "$PROMTOOL_K8S" check rules "$promdir/prometheusrule-spec.yml" >"$out/promtool" 2>&1; then
  echo "promtool: PrometheusRule podmeter's groups valid: $(grep -o '[0-9]* rules found' "$out/promtool")"
else
  cat "$out/promtool" >&2
  echo "FAIL: promtool check rules on PrometheusRule podmeter's spec" >&2
  status=1
fi
if ((status != 0)); then
  echo "k8s/test.sh: FAILED" >&2
else
  echo "k8s/test.sh: all manifests valid"
fi
exit "$status"
