// Package loopback finds free 127.0.0.1 ports and waits for servers under
// test to listen on them. It takes no *testing.T, so commands such as
// bench can use it as well as tests.
package loopback

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// FreePorts returns n distinct loopback TCP ports that were free a moment
// ago: every listener stays open until all n are chosen, so none repeats.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Addr is "127.0.0.1:port".
func Addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// ErrExited is returned by Wait when the server process ended first.
var ErrExited = errors.New("server exited before listening")

// Wait returns once every address accepts TCP connections, or an error
// after timeout, or ErrExited as soon as exited is closed (nil: never).
func Wait(timeout time.Duration, exited <-chan struct{}, addrs ...string) error {
	deadline := time.Now().Add(timeout)
	for _, a := range addrs {
		for {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-exited:
				return ErrExited
			default:
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("nothing listens on %s after %v: %w", a, timeout, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}
