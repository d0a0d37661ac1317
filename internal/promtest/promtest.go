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
	return FindSeries(t, name, prometheus.Labels{label: value})
}

// FindSeries is the value of the counter or gauge name whose labels
// include every one of labels, and whether that series exists.
func FindSeries(t testing.TB, name string, labels prometheus.Labels) (float64, bool) {
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
			matched := 0
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v == l.GetValue() {
					matched++
				}
			}
			if matched != len(labels) {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue(), true
			}
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}
