package refcommon

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// ShutdownSecondsMax is the largest SHUTDOWN_DELAY_SECONDS and SHUTDOWN_TIMEOUT_SECONDS.
const ShutdownSecondsMax = 3600

// Settings are what the environment configures (servers/README.md, "Environment").
type Settings struct {
	Addr            string // HOST:PORT
	MachineID       uint64
	ShutdownDelay   time.Duration // after the signal: serve with /health 503 this long
	ShutdownTimeout time.Duration // then wait at most this long for requests in flight
	// REQUEST_METRICS: record every request in http_server_* ("on", the default), or not
	// ("off": the families are not registered; for measuring what they cost).
	RequestMetrics bool
}

// SettingsFromEnv reads the process environment; the error is the one-line start-up error.
func SettingsFromEnv() (Settings, error) {
	return SettingsFrom(os.Getenv)
}

// SettingsFrom reads the settings through getenv.
func SettingsFrom(getenv func(string) string) (Settings, error) {
	get := func(name, def string) string {
		if value := getenv(name); value != "" {
			return value
		}
		return def
	}
	s := Settings{Addr: net.JoinHostPort(get("HOST", "0.0.0.0"), get("PORT", "8080"))}
	var err error
	s.MachineID, err = strconv.ParseUint(get("MACHINE_ID", "0"), 10, 64)
	if err != nil || s.MachineID > MachineIDMax {
		return s, fmt.Errorf("MACHINE_ID must be an integer 0..=%d", MachineIDMax)
	}
	seconds := func(name, def string) (time.Duration, error) {
		n, err := strconv.ParseUint(get(name, def), 10, 64)
		if err != nil || n > ShutdownSecondsMax {
			return 0, fmt.Errorf("%s must be an integer 0..=%d", name, ShutdownSecondsMax)
		}
		return time.Duration(n) * time.Second, nil
	}
	if s.ShutdownDelay, err = seconds("SHUTDOWN_DELAY_SECONDS", "0"); err != nil {
		return s, err
	}
	if s.ShutdownTimeout, err = seconds("SHUTDOWN_TIMEOUT_SECONDS", "5"); err != nil {
		return s, err
	}
	switch get("REQUEST_METRICS", "on") {
	case "on":
		s.RequestMetrics = true
	case "off":
		s.RequestMetrics = false
	default:
		return s, fmt.Errorf("REQUEST_METRICS must be on or off")
	}
	return s, nil
}

// ShutdownLine is the first line a server logs at the signal.
func (s Settings) ShutdownLine(signal string) string {
	return fmt.Sprintf("refserver: %s: shutting down (/health 503 for %ds, then up to %ds for requests in flight)",
		signal, int(s.ShutdownDelay.Seconds()), int(s.ShutdownTimeout.Seconds()))
}
