// Reference server: github.com/valyala/fasthttp. See servers/README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

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
	m := refcommon.NewMetrics("fasthttp", settings.RequestMetrics)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	listener, err := net.Listen("tcp", settings.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", settings.Addr, err)
	}
	m.Startup.Set(time.Since(started).Seconds())
	app := newServer(m, &refcommon.Snowflake{MachineID: settings.MachineID})
	srv := &fasthttp.Server{
		Handler:     app.handle,
		ReadTimeout: 10 * time.Second, // as net/http's ReadHeaderTimeout; idle connections too
		// Status lines and headers as net/http writes them; the default adds "Server: fasthttp".
		NoDefaultServerHeader: true,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(listener) }()
	var sig os.Signal
	select {
	case err := <-served:
		return err
	case sig = <-signals:
	}
	signal.Stop(signals) // a second signal stops the process at once
	// At SIGTERM or SIGINT, /health turns 503, the server keeps serving for the delay (while
	// the endpoints drop the pod) with "Connection: close" on every response, then the
	// listener closes and requests in flight get the timeout.
	name := "SIGTERM"
	if sig == syscall.SIGINT {
		name = "SIGINT"
	}
	fmt.Fprintln(os.Stderr, settings.ShutdownLine(name))
	app.stopping.Store(true)
	time.Sleep(settings.ShutdownDelay)
	ctx, cancel := context.WithTimeout(context.Background(), settings.ShutdownTimeout)
	defer cancel()
	if err := srv.ShutdownWithContext(ctx); err != nil {
		if !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("shutdown: %w", err)
		}
		// Returning from main ends the handlers still running.
		fmt.Fprintf(os.Stderr, "refserver: requests still in flight after %ds, exiting\n",
			int(settings.ShutdownTimeout.Seconds()))
		return nil
	}
	return <-served
}
