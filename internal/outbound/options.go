package outbound

import (
	"context"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/letterbox/letterbox/internal/metrics"
)

// Defaults for zero Options fields.
const (
	DefaultMaxAge          = 5 * 24 * time.Hour // RFC 5321 §4.5.4.1: at least 4-5 days
	DefaultDelayNotice     = 4 * time.Hour
	DefaultRetryFirst      = 5 * time.Minute
	DefaultRetryMax        = 4 * time.Hour
	DefaultLease           = 30 * time.Minute
	DefaultPerDomain       = 4  // connections at once to one destination domain
	DefaultMaxConnections  = 32 // connections at once in total
	DefaultPort            = 25
	DefaultConnectTimeout  = 30 * time.Second
	DefaultCommandTimeout  = 5 * time.Minute // RFC 5321 §4.5.3.2
	DefaultMessagesPerConn = 100
	DefaultPoll            = time.Minute
)

// Relay is a smarthost: every message goes to it instead of the
// recipients' MX hosts.
type Relay struct {
	Host string
	Port int // 0: 587, or 465 with TLS "implicit"
	// TLS is "starttls" (required, certificate verified), "implicit"
	// (RFC 8314) or "none" (only for a relay on loopback).
	TLS      string
	Username string // AUTH PLAIN when set
	Password string
}

// Options configure a Worker.
type Options struct {
	// Hostname is our name in EHLO and in DSNs' Reporting-MTA.
	Hostname string
	// MaxAge is how long a message is retried before it bounces.
	MaxAge time.Duration
	// DelayNotice: a message still pending this long after it was queued
	// makes one "delayed" DSN to its sender. Negative: never.
	DelayNotice time.Duration
	// RetryFirst is the wait after the first failed attempt; it doubles
	// after each one, up to RetryMax.
	RetryFirst, RetryMax time.Duration
	// Lease is how long a claimed message is not due for anyone else.
	Lease time.Duration
	// PerDomain bounds connections at once to one destination domain;
	// MaxConnections all of them.
	PerDomain, MaxConnections int
	// Port is the port remote MTAs are contacted on (25; tests use others).
	Port int
	// DNSServer, when set ("127.0.0.53:5353"), is the only DNS server
	// asked (tests); empty: the system's resolver.
	DNSServer string
	// Resolver, when set, replaces the resolver DNSServer would make.
	Resolver *net.Resolver
	// LocalAddr, when set, is the source address of outgoing connections.
	LocalAddr net.IP
	// Relay, when its Host is set, receives all mail.
	Relay Relay
	// ConnectTimeout bounds one TCP connect; CommandTimeout one reply.
	ConnectTimeout, CommandTimeout time.Duration
	// MessagesPerConn bounds how many messages one connection carries.
	MessagesPerConn int
	// Poll is how often the queue is looked at when nothing wakes the
	// worker (messages queued by another node).
	Poll time.Duration
	// Signer DKIM-signs a message from the given sender domain; it returns
	// the header fields to prepend (nil: no key for that domain). May be nil.
	Signer func(domain string, message io.Reader) ([]byte, error)
	// RelayRootCAs verifies the smarthost's certificate; nil: the system's.
	RelayRootCAs *x509.CertPool
	// RootCAs verifies MX hosts' certificates (MTA-STS and whether an
	// opportunistic session would verify) and MTA-STS policy servers';
	// nil: the system's roots. Tests set it.
	RootCAs *x509.CertPool
	// DANE uses DNSSEC-signed TLSA records of MX hosts (RFC 7672). It
	// trusts the AD bit of the resolver DNSServer names (or the first of
	// /etc/resolv.conf), which must be on loopback: New fails otherwise.
	DANE bool
	// TLSRPTDir, when set, is where each connection's TLS result is
	// recorded for TLS-RPT (RFC 8460; BuildTLSReport reads it).
	TLSRPTDir string
	// DisableMTASTS turns MTA-STS (RFC 8461) off.
	DisableMTASTS bool
	// STSCacheDir keeps fetched MTA-STS policies across restarts (one
	// JSON file per domain); empty: in memory only.
	STSCacheDir string
	// STSPort is the HTTPS port of MTA-STS policy hosts (443; tests use
	// others). STSFetchTimeout bounds one policy fetch.
	STSPort         int
	STSFetchTimeout time.Duration
	// Dial replaces net.Dialer.DialContext (tests). May be nil.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Now is the clock; nil: time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Metrics counts attempts by result and DSNs; nil: none.
	Metrics *metrics.Metrics
}

func (o Options) withDefaults() Options {
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.DelayNotice == 0 {
		o.DelayNotice = DefaultDelayNotice
	}
	if o.RetryFirst <= 0 {
		o.RetryFirst = DefaultRetryFirst
	}
	if o.RetryMax <= 0 {
		o.RetryMax = DefaultRetryMax
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.PerDomain <= 0 {
		o.PerDomain = DefaultPerDomain
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = DefaultMaxConnections
	}
	if o.Port <= 0 {
		o.Port = DefaultPort
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = DefaultCommandTimeout
	}
	if o.MessagesPerConn <= 0 {
		o.MessagesPerConn = DefaultMessagesPerConn
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.STSPort <= 0 {
		o.STSPort = 443
	}
	if o.STSFetchTimeout <= 0 {
		o.STSFetchTimeout = DefaultSTSFetchTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
		if o.DNSServer != "" {
			server := o.DNSServer
			o.Resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, server)
			}}
		}
	}
	if o.Dial == nil {
		d := &net.Dialer{Timeout: o.ConnectTimeout}
		if o.LocalAddr != nil {
			d.LocalAddr = &net.TCPAddr{IP: o.LocalAddr}
		}
		o.Dial = d.DialContext
	}
	return o
}

// retryAfter is the wait after the n-th failed attempt (n >= 1):
// RetryFirst doubled per attempt, at most RetryMax.
func (o Options) retryAfter(n int) time.Duration {
	d := o.RetryFirst
	for i := 1; i < n && d < o.RetryMax; i++ {
		d *= 2
	}
	return min(d, o.RetryMax)
}
