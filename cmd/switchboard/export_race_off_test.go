//go:build !race

package main

const exportRace = false
