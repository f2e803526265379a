// Package metrics is letterbox's Prometheus instrumentation
// (github.com/prometheus/client_golang), served on its own listener
// ([listen] metrics, off by default). Front ends call the methods of a
// *Metrics they were given; every method does nothing on a nil *Metrics,
// so a server without metrics (and every test) passes nil.
//
// Label values are bounded: protocols are the front ends' names, commands
// are the names in a front end's command table ("unknown" otherwise),
// results a few fixed words.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the collectors of one server process.
type Metrics struct {
	reg         *prometheus.Registry
	open        *prometheus.GaugeVec
	accepted    *prometheus.CounterVec
	logins      *prometheus.CounterVec
	commands    *prometheus.HistogramVec
	deliveries  *prometheus.CounterVec
	deliveredB  *prometheus.CounterVec
	deliverTime *prometheus.HistogramVec
	feedLag     *prometheus.HistogramVec
	outAttempts *prometheus.CounterVec
	outDSNs     *prometheus.CounterVec
}

// New makes the collectors, with Go runtime and process metrics.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "letterbox_connections_open", Help: "Connections open now, per protocol.",
		}, []string{"protocol"}),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "letterbox_connections_total", Help: "Connections accepted, per protocol.",
		}, []string{"protocol"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "letterbox_logins_total", Help: "Login attempts by protocol and result (ok, fail, throttled, error).",
		}, []string{"protocol", "result"}),
		commands: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "letterbox_command_duration_seconds",
			Help:    "Time from a command's arrival to its final response, per protocol and command.",
			Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5, 30},
		}, []string{"protocol", "command"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "letterbox_deliveries_total", Help: "Messages received for delivery by protocol and result (ok, failed).",
		}, []string{"protocol", "result"}),
		deliveredB: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "letterbox_delivered_bytes_total", Help: "Octets of messages received and stored, per protocol.",
		}, []string{"protocol"}),
		deliverTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "letterbox_delivery_duration_seconds",
			Help:    "Time to store a received message durably (after its last octet arrived), per protocol.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5},
		}, []string{"protocol"}),
		feedLag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "letterbox_feed_lag_seconds",
			Help: "Time from a change reaching the store's change feed (SQLite: its commit; PostgreSQL: its NOTIFY's arrival) " +
				"to a session waiting for changes (IMAP IDLE or NOTIFY, JMAP push) taking it, per protocol.",
			Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5},
		}, []string{"protocol"}),
		outAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "letterbox_outbound_attempts_total",
			Help: "Outbound delivery attempts per recipient by result: delivered, deferred (tried again later), failed (permanent), expired (retried past max_age).",
		}, []string{"result"}),
		outDSNs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "letterbox_outbound_dsn_total",
			Help: "Delivery status notifications put in senders' INBOXes, by action: failed (a bounce) or delayed.",
		}, []string{"action"}),
	}
	m.reg.MustRegister(m.open, m.accepted, m.logins, m.commands, m.deliveries, m.deliveredB, m.deliverTime,
		m.feedLag, m.outAttempts, m.outDSNs,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Register adds a collector of another part (the store's size, say).
func (m *Metrics) Register(c prometheus.Collector) error {
	if m == nil {
		return nil
	}
	return m.reg.Register(c)
}

// Connection counts a connection of protocol; call done when it ends.
func (m *Metrics) Connection(protocol string) (done func()) {
	if m == nil {
		return func() {}
	}
	m.accepted.WithLabelValues(protocol).Inc()
	g := m.open.WithLabelValues(protocol)
	g.Inc()
	return g.Dec
}

// Login counts one login attempt.
func (m *Metrics) Login(protocol, result string) {
	if m == nil {
		return
	}
	m.logins.WithLabelValues(protocol, result).Inc()
}

// Command records one command's duration.
func (m *Metrics) Command(protocol, command string, d time.Duration) {
	if m == nil {
		return
	}
	m.commands.WithLabelValues(protocol, command).Observe(d.Seconds())
}

// Delivery records one received message: stored (ok) or not, its size
// and how long storing took.
func (m *Metrics) Delivery(protocol string, ok bool, size int64, d time.Duration) {
	if m == nil {
		return
	}
	result := "failed"
	if ok {
		result = "ok"
		m.deliveredB.WithLabelValues(protocol).Add(float64(size))
	}
	m.deliveries.WithLabelValues(protocol, result).Inc()
	m.deliverTime.WithLabelValues(protocol).Observe(d.Seconds())
}

// FeedLag records how long a change waited between the store's change
// feed and a session of protocol that was waiting for it.
func (m *Metrics) FeedLag(protocol string, d time.Duration) {
	if m == nil {
		return
	}
	m.feedLag.WithLabelValues(protocol).Observe(max(d, 0).Seconds())
}

// Outbound attempt results and DSN actions (the label values).
const (
	OutboundDelivered = "delivered"
	OutboundDeferred  = "deferred"
	OutboundFailed    = "failed"
	OutboundExpired   = "expired"
	DSNFailed         = "failed"
	DSNDelayed        = "delayed"
)

// OutboundAttempt counts one delivery attempt for one recipient.
func (m *Metrics) OutboundAttempt(result string) {
	if m == nil {
		return
	}
	m.outAttempts.WithLabelValues(result).Inc()
}

// OutboundDSN counts one DSN stored for a sender.
func (m *Metrics) OutboundDSN(action string) {
	if m == nil {
		return
	}
	m.outDSNs.WithLabelValues(action).Inc()
}
