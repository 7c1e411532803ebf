//go:build tools

// Package deps pins github.com/ncabatoff/process-exporter for bench/compare: the module is built
// from here with `go build github.com/ncabatoff/process-exporter/cmd/process-exporter` (see
// bench/compare/build_peers.sh); no code of it is kept in this repository.
package deps

import _ "github.com/ncabatoff/process-exporter/proc"
