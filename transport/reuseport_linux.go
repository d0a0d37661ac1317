package transport

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// reusePortSupported: Linux spreads a port's datagrams over the sockets
// bound to it with SO_REUSEPORT by a hash of the 4-tuple, so each client's
// packets always reach the same socket.
const reusePortSupported = true

func reusePort(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}); err != nil {
		return err
	}
	return serr
}
