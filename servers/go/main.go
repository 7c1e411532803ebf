// Reference server: Go standard library net/http. See servers/README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// shutdownSecondsMax is the largest SHUTDOWN_DELAY_SECONDS and SHUTDOWN_TIMEOUT_SECONDS.
const shutdownSecondsMax = 3600

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
	delay, err := secondsEnv("SHUTDOWN_DELAY_SECONDS", "0")
	if err != nil {
		return err
	}
	timeout, err := secondsEnv("SHUTDOWN_TIMEOUT_SECONDS", "5")
	if err != nil {
		return err
	}
	m := newMetrics()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	m.startup.Set(time.Since(started).Seconds())
	handler := newServer(m, &snowflake{machineID: machineID})
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(listener) }()
	var sig os.Signal
	select {
	case err := <-served:
		return err
	case sig = <-signals:
	}
	signal.Stop(signals) // a second signal stops the process at once
	// At SIGTERM or SIGINT, /health turns 503, the server keeps serving for `delay` (while the
	// endpoints drop the pod), then the listener closes and in-flight requests get `timeout`.
	fmt.Fprintf(os.Stderr, "refserver: %s: shutting down (/health 503 for %ds, then up to %ds for requests in flight)\n",
		signalName(sig), int(delay.Seconds()), int(timeout.Seconds()))
	handler.stopping.Store(true)
	srv.SetKeepAlivesEnabled(false) // responses say "Connection: close": clients move to other pods
	time.Sleep(delay)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		if !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("shutdown: %w", err)
		}
		fmt.Fprintf(os.Stderr, "refserver: requests still in flight after %ds, exiting\n", int(timeout.Seconds()))
		srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func signalName(sig os.Signal) string {
	if sig == syscall.SIGINT {
		return "SIGINT"
	}
	return "SIGTERM"
}

func secondsEnv(name, def string) (time.Duration, error) {
	seconds, err := strconv.ParseUint(envOr(name, def), 10, 64)
	if err != nil || seconds > shutdownSecondsMax {
		return 0, fmt.Errorf("%s must be an integer 0..=%d", name, shutdownSecondsMax)
	}
	return time.Duration(seconds) * time.Second, nil
}

func envOr(name, def string) string {
	if value := os.Getenv(name); value != "" {
		return value
	}
	return def
}
