//go:build !linux

package transport

import "syscall"

// reusePortSupported: elsewhere the node listens on one socket.
const reusePortSupported = false

func reusePort(_, _ string, _ syscall.RawConn) error { return nil }
