package imapcheck

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/imapserver"
	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/sqlite"
)

// The checker is a test tool, not a front end: it may start letterbox
// IMAP servers over either driver in-process.

// Cluster is one or more in-process letterbox IMAP servers over one store
// (SQLite: one node; PostgreSQL: one node per Store, one database).
type Cluster struct {
	Addrs          []string
	User, Password string
	// Log keeps the servers' warnings and errors (each line names its node).
	Log *LogBuffer

	closers []func()
}

// Close stops the servers and closes the stores (last started first).
func (c *Cluster) Close() {
	for i := len(c.closers) - 1; i >= 0; i-- {
		c.closers[i]()
	}
	c.closers = nil
}

const (
	clusterUser = "check@example.com"
	clusterPass = "imapcheck password"
)

func newCluster() *Cluster {
	return &Cluster{User: clusterUser, Password: clusterPass, Log: &LogBuffer{}}
}

// createAccount adds the checker's account with cheap hash parameters.
func createAccount(ctx context.Context, st store.Store) error {
	hash, err := auth.HashPassword(clusterPass, auth.TestParams)
	if err != nil {
		return err
	}
	_, err = st.CreateAccount(ctx, clusterUser, hash)
	return err
}

// serveIMAP starts an IMAP server on 127.0.0.1:0 over st.
func (c *Cluster) serveIMAP(st store.Store, node string) error {
	srv := imapserver.New(imapserver.Options{
		Store:    st,
		Auth:     auth.New(st, auth.Options{Params: auth.TestParams, FailureDelay: time.Millisecond}),
		Hostname: node,
		Logger:   slog.New(slog.NewTextHandler(c.Log.writer(node), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(l)
	}()
	c.Addrs = append(c.Addrs, l.Addr().String())
	c.closers = append(c.closers, func() {
		srv.Close()
		<-done
	})
	return nil
}

// StartSQLite runs one IMAP server over a new SQLite store in dir.
func StartSQLite(ctx context.Context, dir string) (*Cluster, error) {
	c := newCluster()
	st, err := sqlite.Open(sqlite.Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(c.Log.writer("sqlite"), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return nil, err
	}
	c.closers = append(c.closers, func() { st.Close() })
	if err := createAccount(ctx, st); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.serveIMAP(st, "sqlite"); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// LogBuffer keeps the last lines the servers logged.
type LogBuffer struct {
	mu    sync.Mutex
	lines []string
}

type logWriter struct {
	b    *LogBuffer
	node string
}

func (b *LogBuffer) writer(node string) logWriter { return logWriter{b, node} }

func (w logWriter) Write(p []byte) (int, error) {
	w.b.mu.Lock()
	defer w.b.mu.Unlock()
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if len(l) > 2000 {
			l = l[:2000] + "…"
		}
		w.b.lines = append(w.b.lines, w.node+": "+l)
	}
	if len(w.b.lines) > 400 {
		w.b.lines = append([]string(nil), w.b.lines[len(w.b.lines)-200:]...)
	}
	return len(p), nil
}

// Lines returns the last n lines logged.
func (b *LogBuffer) Lines(n int) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.lines) > n {
		return append([]string(nil), b.lines[len(b.lines)-n:]...)
	}
	return append([]string(nil), b.lines...)
}
