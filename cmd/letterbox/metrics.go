package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/letterbox/letterbox/internal/metrics"
)

// metricsServer serves GET /metrics ([listen] metrics) as one more
// endpoint; it has no sessions to drain.
type metricsServer struct{ http *http.Server }

func newMetricsServer(m *metrics.Metrics) *metricsServer {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	return &metricsServer{http: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
}

func (s *metricsServer) Serve(l net.Listener) error {
	err := s.http.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (s *metricsServer) Close() error { return s.http.Close() }

func (s *metricsServer) Shutdown(ctx context.Context) error { return s.http.Shutdown(ctx) }
