package testenv

import (
	"bufio"
	"bytes"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Goroutines counts the goroutines whose pprof labels hold key=value. A
// test labels its goroutine before it starts the side it measures (a
// node, a server): every goroutine started from there inherits the label,
// and the test's own clients, started without it, are not counted.
func Goroutines(tb testing.TB, key, value string) int {
	tb.Helper()
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		tb.Fatal(err)
	}
	// debug=1: "N @ 0x…" opens each stack group, "# labels: {…}" follows.
	want := strconv.Quote(key) + ":" + strconv.Quote(value)
	n, count := 0, 0
	sc := bufio.NewScanner(&buf)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, " @ "); i > 0 && !strings.HasPrefix(line, "#") {
			n, _ = strconv.Atoi(line[:i])
			continue
		}
		if strings.HasPrefix(line, "# labels:") && strings.Contains(line, want) {
			count += n
			n = 0
		}
	}
	return count
}

// SettledGoroutines waits until Goroutines stops moving and returns it.
func SettledGoroutines(tb testing.TB, key, value string) int {
	tb.Helper()
	last, same := -1, 0
	for range 100 {
		runtime.GC()
		n := Goroutines(tb, key, value)
		if n == last {
			if same++; same == 5 {
				return n
			}
		} else {
			last, same = n, 0
		}
		time.Sleep(100 * time.Millisecond)
	}
	return last
}
