package imapserver

import (
	"io"
	"net"
	"time"
)

// minCommandRate is the slowest a client may send a command's octets
// (lines and literals) once the command has started: every octet received
// adds 1/minCommandRate seconds to the time the command may take, on top
// of Limits.CommandTimeout. A 50 MiB APPEND thus gets CommandTimeout plus
// 800 s, and a client trickling a command line a few octets at a time is
// cut off after about CommandTimeout.
const minCommandRate = 64 << 10 // octets per second

// commandClock sits between the socket and the buffered reader and bounds
// how long reading one command may take. Between commands the idle timeout
// applies; the command's clock starts when its first octet arrives, and
// each read moves the read deadline to
//
//	start + CommandTimeout + received/minCommandRate.
//
// It is used by the session goroutine only (and by IDLE's reader while the
// clock is stopped).
type commandClock struct {
	nc      net.Conn
	timeout time.Duration
	// src is what commands are read from: nil for nc itself, or the
	// decompressor on it once COMPRESS is active (compress.go), so that
	// octets are counted and a command's clock started as the session
	// sees them; the deadlines are always nc's.
	src io.Reader

	armed    bool // waiting for the first octet of a command
	running  bool // a command is being read
	start    time.Time
	received int64

	// An octet (and/or error) read by prefetch, for the next Read.
	one        [1]byte
	hasOne     bool
	pendingErr error
}

// prefetch waits for the next octet without a buffer: it reads one octet
// (counted like any other), which the next Read returns, with the read's
// error if any. A connection waiting for a command thus blocks here, and
// its read buffer is taken only once the client has sent something.
func (k *commandClock) prefetch() {
	if k.hasOne || k.pendingErr != nil {
		return
	}
	n, err := k.Read(k.one[:])
	k.hasOne = n == 1
	k.pendingErr = err
}

// Read reads from the socket and, while a command is being read, moves the
// read deadline with the octets received.
func (k *commandClock) Read(p []byte) (int, error) {
	if k.hasOne || k.pendingErr != nil {
		n := 0
		if k.hasOne && len(p) > 0 {
			p[0] = k.one[0]
			k.hasOne, n = false, 1
		}
		err := k.pendingErr
		k.pendingErr = nil
		return n, err
	}
	var n int
	var err error
	if k.src != nil {
		n, err = k.src.Read(p)
	} else {
		n, err = k.nc.Read(p)
	}
	if n > 0 && (k.armed || k.running) {
		if k.armed {
			k.startNow()
		}
		k.received += int64(n)
		k.nc.SetReadDeadline(k.deadline())
	}
	return n, err
}

func (k *commandClock) startNow() {
	k.armed, k.running = false, true
	k.start, k.received = time.Now(), 0
}

func (k *commandClock) deadline() time.Time {
	grace := time.Duration(float64(k.received) / minCommandRate * float64(time.Second))
	return k.start.Add(k.timeout + grace)
}

// beginCommand is called before reading a command, after the idle deadline
// is armed. buffered says whether octets of the command are already in the
// buffer (pipelined): then its clock starts now.
func (k *commandClock) beginCommand(buffered bool) {
	if buffered {
		k.startNow()
		k.nc.SetReadDeadline(k.deadline())
		return
	}
	k.armed = true
}

// endCommand stops the clock and reports whether a command had started
// (so a timeout was the command's, not the idle timeout).
func (k *commandClock) endCommand() (started bool) {
	started = k.running
	k.armed, k.running = false, false
	return started
}
