#!/usr/bin/env bash
# Usage: bash k8s/crds/refresh-prometheus-operator.sh [VERSION]     (default v0.85.0)
# Rewrites the vendored ServiceMonitor, PodMonitor and PrometheusRule schemas in k8s/crds/
# from prometheus-operator's CRDs at VERSION, fetched as a Go module through the module proxy
# (the repository ships them under example/prometheus-operator-crd/). Needs go and k8s/.venv
# (bash k8s/test.sh creates it).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="${1:-v0.85.0}"
module=github.com/prometheus-operator/prometheus-operator
dir="$(go mod download -json "$module@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
crds="$dir/example/prometheus-operator-crd"
controller_gen="$(sed -n 's/.*controller-gen.kubebuilder.io\/version: //p' "$crds/monitoring.coreos.com_servicemonitors.yaml")"
header="$(mktemp)"
trap 'rm -f "$header"' EXIT
for pair in servicemonitors:ServiceMonitor podmonitors:PodMonitor prometheusrules:PrometheusRule; do
  plural="${pair%%:*}" kind="${pair#*:}"
  file="monitoring.coreos.com_$plural.yaml"
  cat >"$header" <<HEADER
openAPIV3Schema of prometheus-operator's $kind CRD ($plural.monitoring.coreos.com, v1),
vendored as data for k8s/test.sh: nothing else of the CRD (kube-prometheus-stack installs it).
Descriptions dropped. Written by k8s/crds/refresh-prometheus-operator.sh $version from
example/prometheus-operator-crd/$file (controller-gen $controller_gen),
fetched through the Go module proxy: go mod download -json $module@$version
Apache License 2.0, (c) The prometheus-operator Authors.
HEADER
  "$here/../.venv/bin/python" "$here/extract-schema.py" "$crds/$file" v1 \
    "https://$module/blob/$version/example/prometheus-operator-crd/$file" "$header" \
    >"$here/monitoring.coreos.com_$plural-v1-schema.yaml"
  echo "wrote k8s/crds/monitoring.coreos.com_$plural-v1-schema.yaml ($kind, $version)"
done
