//go:build race

package memberlist

const raceEnabled = true
