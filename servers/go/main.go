// Reference server: Go standard library net/http. See servers/README.md.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	started := time.Now()
	if err := serve(started); err != nil {
		fmt.Fprintln(os.Stderr, "refserver:", err)
		os.Exit(1)
	}
}

func serve(started time.Time) error {
	addr := net.JoinHostPort(envOr("HOST", "0.0.0.0"), envOr("PORT", "8080"))
	machineID, err := strconv.ParseUint(envOr("MACHINE_ID", "0"), 10, 64)
	if err != nil || machineID > machineIDMax {
		return fmt.Errorf("MACHINE_ID must be an integer 0..=%d", machineIDMax)
	}
	m := newMetrics()
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	m.startup.Set(time.Since(started).Seconds())
	srv := &http.Server{Handler: newServer(m, &snowflake{machineID: machineID}), ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(listener)
}

func envOr(name, def string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return def
}
