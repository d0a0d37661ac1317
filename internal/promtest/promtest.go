// Package promtest reads the process's Prometheus metrics in tests.
package promtest

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Value is the value of the counter or gauge name in the default registry
// whose label has the given value (0 when there is none yet).
func Value(t testing.TB, name, label, value string) float64 {
	t.Helper()
	v, _ := Find(t, name, label, value)
	return v
}

// Find is Value, and whether that series exists.
func Find(t testing.TB, name, label, value string) (float64, bool) {
	t.Helper()
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					if c := m.GetCounter(); c != nil {
						return c.GetValue(), true
					}
					return m.GetGauge().GetValue(), true
				}
			}
		}
	}
	return 0, false
}
