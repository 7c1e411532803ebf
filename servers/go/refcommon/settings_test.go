package refcommon

import "testing"

func TestRequestMetricsSetting(t *testing.T) {
	env := func(vars map[string]string) func(string) string {
		return func(name string) string { return vars[name] }
	}
	for value, want := range map[string]bool{"": true, "on": true, "off": false} {
		s, err := SettingsFrom(env(map[string]string{"REQUEST_METRICS": value}))
		if err != nil || s.RequestMetrics != want {
			t.Errorf("REQUEST_METRICS=%q: %v, %v", value, s.RequestMetrics, err)
		}
	}
	for _, value := range []string{"0", "false", "OFF"} {
		_, err := SettingsFrom(env(map[string]string{"REQUEST_METRICS": value}))
		if err == nil || err.Error() != "REQUEST_METRICS must be on or off" {
			t.Errorf("REQUEST_METRICS=%q: %v", value, err)
		}
	}
}
