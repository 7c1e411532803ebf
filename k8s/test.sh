#!/usr/bin/env bash
# Usage: bash k8s/test.sh        (VERBOSE=1: list every check)
# Renders k8s/base and every overlay with `kubectl kustomize`, then k8s/validate.py:
# strict schema validation of every core object against Kubernetes 1.30 and 1.34
# (kubernetes-validate, pinned in requirements.txt, in k8s/.venv), the TestRuns against the
# k6 operator's CRD schema (crds/), and the project's own rules. Exits non-zero on any failure.
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
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
args=()
status=0
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
.venv/bin/python validate.py "$K8S_VERSIONS" "${args[@]}" || status=1
if ((status != 0)); then
  echo "k8s/test.sh: FAILED" >&2
else
  echo "k8s/test.sh: all manifests valid"
fi
exit "$status"
