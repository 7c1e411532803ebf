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
	"syscall"
	"time"

	"podmeter/servers/go/refcommon"
)

func main() {
	started := time.Now()
	if err := serve(started); err != nil {
		fmt.Fprintln(os.Stderr, "refserver:", err)
		os.Exit(1)
	}
}

func serve(started time.Time) error {
	settings, err := refcommon.SettingsFromEnv()
	if err != nil {
		return err
	}
	addr, delay, timeout := settings.Addr, settings.ShutdownDelay, settings.ShutdownTimeout
	m := refcommon.NewMetrics("net/http", settings.RequestMetrics)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	m.Startup.Set(time.Since(started).Seconds())
	handler := newServer(m, &refcommon.Snowflake{MachineID: settings.MachineID})
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
	fmt.Fprintln(os.Stderr, settings.ShutdownLine(signalName(sig)))
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
