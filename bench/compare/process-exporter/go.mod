module podmeter.local/bench/compare/process-exporter

go 1.23.0

require github.com/ncabatoff/process-exporter v0.8.7

require (
	github.com/ncabatoff/go-seq v0.0.0-20180805175032-b08ef85ed833 // indirect
	github.com/prometheus/procfs v0.14.0 // indirect
	golang.org/x/sys v0.30.0 // indirect
)
