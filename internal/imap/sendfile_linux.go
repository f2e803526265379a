//go:build linux

package imap

import (
	"errors"
	"syscall"
)

// sendFile sends octets [off, off+n) of the file src to the socket dst
// with sendfile(2), at an explicit offset (src's own position is left
// alone, so a file shared by readers using ReadAt is safe), waiting for
// the socket with the runtime poller (so dst's write deadline applies).
// handled is false when the kernel refused this pair before anything was
// sent (the caller copies instead). werr is a socket error, rerr an error
// reading the file; a file that ends early stops the copy with neither
// (written < n).
func sendFile(dst, src syscall.Conn, off, n int64) (written int64, handled bool, werr, rerr error) {
	dc, err := dst.SyscallConn()
	if err != nil {
		return 0, false, nil, nil
	}
	sc, err := src.SyscallConn()
	if err != nil {
		return 0, false, nil, nil
	}
	handled = true
	var serr error
	cerr := sc.Control(func(sfd uintptr) {
		err := dc.Write(func(dfd uintptr) bool {
			for written < n {
				pos := off + written
				k, e := syscall.Sendfile(int(dfd), int(sfd), &pos, int(min(n-written, 1<<30)))
				if k > 0 {
					written += int64(k)
				}
				switch {
				case e == syscall.EINTR:
					continue
				case e == syscall.EAGAIN:
					return false // wait until the socket can take more
				case e != nil:
					serr = e
					return true
				case k == 0:
					return true // the file ended early
				}
			}
			return true
		})
		if err != nil {
			werr = err // the wait failed: deadline, closed socket
		}
	})
	if cerr != nil && werr == nil && serr == nil {
		rerr = cerr
	}
	switch {
	case serr == nil:
	case written == 0 && (errors.Is(serr, syscall.EINVAL) || errors.Is(serr, syscall.ENOSYS) || errors.Is(serr, syscall.EOPNOTSUPP)):
		handled = false
	case errors.Is(serr, syscall.EPIPE) || errors.Is(serr, syscall.ECONNRESET) || errors.Is(serr, syscall.ENOTCONN):
		werr = serr
	default:
		rerr = serr
	}
	return written, handled, werr, rerr
}
