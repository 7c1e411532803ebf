#!/bin/sh
# Builds bench/compare's Go peers into the git-ignored cache (default /var/cache/podmeter/compare)
# through the wrapper modules beside this script, at the versions their go.mod pins:
#   cadvisor-lib      our main over github.com/google/cadvisor/lib (stands in for the cAdvisor binary)
#   process-exporter  github.com/ncabatoff/process-exporter/cmd/process-exporter
# Needs Go and the Go module proxy; builds nice'd. Nothing it builds is committed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cache=${PODMETER_COMPARE_CACHE:-/var/cache/podmeter/compare}
mkdir -p "$cache"
export GOFLAGS=-mod=mod
cd "$here/cadvisor"
nice -n 10 go build -o "$cache/cadvisor-lib" .
cd "$here/process-exporter"
nice -n 10 go build -o "$cache/process-exporter" github.com/ncabatoff/process-exporter/cmd/process-exporter
echo "built: $cache/cadvisor-lib $cache/process-exporter"
