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
	"github.com/letterbox/letterbox/internal/tlsconfig"
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

// queueCollector reports the outbound queue at each scrape from one
// QueuedMessages listing: messages by state (new: no attempt yet;
// deferred: tried and waiting for a retry), their recipients by state,
// and the age of the oldest message. The listing reads every queued
// message's recipients, fine for the queues a scrape every 15 s or more
// sees (thousands of messages).
type queueCollector struct {
	q          store.Queue
	messages   *prometheus.Desc
	recipients *prometheus.Desc
	oldest     *prometheus.Desc
}

func newQueueCollector(q store.Queue) prometheus.Collector {
	return &queueCollector{q: q,
		messages:   prometheus.NewDesc("letterbox_outbound_queue_messages", "Messages in the outbound queue by state: new (not tried yet) or deferred (tried, waiting for a retry).", []string{"state"}, nil),
		recipients: prometheus.NewDesc("letterbox_outbound_queue_recipients", "Recipients of the queued messages by state (pending, delivered, failed).", []string{"state"}, nil),
		oldest:     prometheus.NewDesc("letterbox_outbound_queue_oldest_seconds", "Age of the oldest queued message; 0 when the queue is empty.", nil, nil),
	}
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.messages
	ch <- c.recipients
	ch <- c.oldest
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, err := c.q.QueuedMessages(ctx)
	if err != nil {
		return
	}
	now := time.Now()
	byState := map[string]int{"new": 0, "deferred": 0}
	rcpts := map[store.OutboundState]int{store.OutboundPending: 0, store.OutboundDelivered: 0, store.OutboundFailed: 0}
	var oldest time.Duration
	for _, m := range msgs {
		tried := false
		for _, r := range m.Recipients {
			rcpts[r.State]++
			tried = tried || r.Attempts > 0
		}
		if tried {
			byState["deferred"]++
		} else {
			byState["new"]++
		}
		oldest = max(oldest, now.Sub(m.Queued))
	}
	for s, n := range byState {
		ch <- prometheus.MustNewConstMetric(c.messages, prometheus.GaugeValue, float64(n), s)
	}
	for s, n := range rcpts {
		ch <- prometheus.MustNewConstMetric(c.recipients, prometheus.GaugeValue, float64(n), s.String())
	}
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, oldest.Seconds())
}

// newCertExpiryGauge reports when the certificate new handshakes get
// expires: an alert on it catches a renewal (ACME or by hand) that did
// not happen.
func newCertExpiryGauge(certs *tlsconfig.Reloadable) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "letterbox_tls_certificate_expiry_timestamp_seconds",
		Help: "Expiry (Unix time) of the certificate served to new TLS handshakes.",
	}, func() float64 {
		if leaf := certs.Leaf(); leaf != nil {
			return float64(leaf.NotAfter.Unix())
		}
		return 0
	})
}
