//go:build race

package main

// exportRace: the Kafka end-to-end test runs once, in the normal pass (it
// runs the binary, which the race detector does not instrument).
const exportRace = true
