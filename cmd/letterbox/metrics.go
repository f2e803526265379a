package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/letterbox/letterbox/internal/metrics"
	"github.com/letterbox/letterbox/internal/store"
)

// plainHTTPServer serves one handler over plain HTTP as one more endpoint
// (GET /metrics on [listen] metrics, ACME HTTP-01 on [listen] acme_http);
// it has no sessions to drain.
type plainHTTPServer struct{ http *http.Server }

func newPlainHTTPServer(h http.Handler) *plainHTTPServer {
	return &plainHTTPServer{http: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
}

func newMetricsServer(m *metrics.Metrics) *plainHTTPServer {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	return newPlainHTTPServer(mux)
}

func (s *plainHTTPServer) Serve(l net.Listener) error {
	err := s.http.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (s *plainHTTPServer) Close() error { return s.http.Close() }

func (s *plainHTTPServer) Shutdown(ctx context.Context) error { return s.http.Shutdown(ctx) }

// storeCollector reports the store's size at each scrape: the sum of
// every account's quota usage (store.Quotas keeps the counts exact, so a
// scrape costs one small query per account, no file walk).
type storeCollector struct {
	st       store.Store
	q        store.Quotas
	messages *prometheus.Desc
	octets   *prometheus.Desc
	accounts *prometheus.Desc
}

func newStoreCollector(st store.Store) prometheus.Collector {
	q, ok := st.(store.Quotas)
	if !ok {
		return nil
	}
	return &storeCollector{st: st, q: q,
		messages: prometheus.NewDesc("letterbox_store_messages", "Messages stored, all accounts.", nil, nil),
		octets:   prometheus.NewDesc("letterbox_store_bytes", "Octets of the messages stored, all accounts.", nil, nil),
		accounts: prometheus.NewDesc("letterbox_accounts", "Accounts.", nil, nil),
	}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.messages
	ch <- c.octets
	ch <- c.accounts
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	accounts, err := c.st.Accounts(ctx)
	if err != nil {
		return
	}
	var msgs, octets int64
	for _, a := range accounts {
		q, err := c.q.Quota(ctx, a.Name)
		if err != nil {
			return
		}
		msgs += q.Messages.Used
		octets += q.Storage.Used
	}
	ch <- prometheus.MustNewConstMetric(c.messages, prometheus.GaugeValue, float64(msgs))
	ch <- prometheus.MustNewConstMetric(c.octets, prometheus.GaugeValue, float64(octets))
	ch <- prometheus.MustNewConstMetric(c.accounts, prometheus.GaugeValue, float64(len(accounts)))
}
