//go:build !race

package memberlist

const raceEnabled = false
