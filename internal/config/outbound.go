package config

import (
	"net"
	"strconv"
	"time"
)

// Outbound is the delivery of mail to other servers: the outbound queue
// and its worker (internal/outbound).
type Outbound struct {
	// Enabled accepts remote recipients from authenticated submission
	// clients into the queue and runs the delivery worker. Off: they get
	// 550 5.7.1 "remote delivery is not configured".
	Enabled bool `toml:"enabled"`
	// MaxAge is how long a message is retried before it bounces.
	MaxAge time.Duration `toml:"max_age"`
	// DelayNotice sends one "delayed" notice after this long; "0s": never.
	DelayNotice time.Duration `toml:"delay_notice"`
	// RetryFirst is the first retry's wait, doubled per attempt up to
	// RetryMax.
	RetryFirst time.Duration `toml:"retry_first"`
	RetryMax   time.Duration `toml:"retry_max"`
	// PerDomain bounds connections at once to one destination domain;
	// MaxConnections all outgoing connections.
	PerDomain      int `toml:"per_domain"`
	MaxConnections int `toml:"max_connections"`
	// Port remote MTAs are contacted on (25; tests on loopback use others).
	Port int `toml:"port"`
	// DNSServer ("127.0.0.53:5353") is asked instead of the system's
	// resolver: meant for tests.
	DNSServer string `toml:"dns_server"`
	// Lease is how long a message being delivered is not due for anyone
	// else: after a crash, its messages are retried at most this late.
	Lease time.Duration `toml:"lease"`
	// SourceAddress is the local address outgoing connections come from;
	// empty: chosen by the system.
	SourceAddress string `toml:"source_address"`
	// MTASTS fetches, caches (DATA/mta-sts) and applies the recipient
	// domains' MTA-STS policies (RFC 8461).
	MTASTS bool `toml:"mta_sts"`
	// DANE uses DNSSEC-signed TLSA records (RFC 7672), trusting the AD
	// bit of a validating resolver that must be on loopback.
	DANE bool `toml:"dane"`
	// MTASTSPort is the HTTPS port of MTA-STS policy hosts (443; tests).
	MTASTSPort int `toml:"mta_sts_port"`
	// CAFile, when set, is a PEM file of root certificates trusted besides
	// the system's for MX hosts (MTA-STS) and MTA-STS policy hosts: a
	// private CA, or tests.
	CAFile string `toml:"ca_file"`
}

// Relay is an optional smarthost that receives all outbound mail.
type Relay struct {
	Host string `toml:"host"`
	Port int    `toml:"port"`
	// TLS is "starttls", "implicit" or "none".
	TLS      string `toml:"tls"`
	Username string `toml:"username"`
	Password string `toml:"password"`
}

func defaultOutbound() Outbound {
	return Outbound{
		Enabled:        true,
		MaxAge:         5 * 24 * time.Hour,
		DelayNotice:    4 * time.Hour,
		RetryFirst:     5 * time.Minute,
		RetryMax:       4 * time.Hour,
		PerDomain:      4,
		MaxConnections: 32,
		Port:           25,
		Lease:          30 * time.Minute,
		MTASTS:         true,
		MTASTSPort:     443,
	}
}

// Inbound is what is checked on mail from other servers (port 25).
type Inbound struct {
	// CheckAuthentication runs SPF, DKIM and DMARC on port-25 mail and
	// adds an Authentication-Results field (RFC 8601). The resolver is
	// the system's, or [outbound] dns_server.
	CheckAuthentication bool `toml:"check_authentication"`
	// DMARCReject refuses mail failing DMARC whose domain says p=reject.
	DMARCReject bool `toml:"dmarc_reject"`
}

func defaultInbound() Inbound { return Inbound{CheckAuthentication: true, DMARCReject: true} }

func defaultRelay() Relay { return Relay{Port: 587, TLS: "starttls"} }

func (c Config) validateOutbound(bad func(key, format string, args ...any)) {
	o := c.Outbound
	if o.MaxAge <= 0 {
		bad("outbound.max_age", "must be positive")
	}
	if o.DelayNotice < 0 {
		bad("outbound.delay_notice", "must not be negative (0 turns delay notices off)")
	}
	if o.RetryFirst <= 0 {
		bad("outbound.retry_first", "must be positive")
	}
	if o.RetryMax < o.RetryFirst {
		bad("outbound.retry_max", "must be at least outbound.retry_first")
	}
	if o.PerDomain <= 0 {
		bad("outbound.per_domain", "must be positive")
	}
	if o.MaxConnections <= 0 {
		bad("outbound.max_connections", "must be positive")
	}
	if o.Lease <= 0 {
		bad("outbound.lease", "must be positive")
	}
	if o.Port <= 0 || o.Port > 65535 {
		bad("outbound.port", "must be a port number")
	}
	if o.DNSServer != "" {
		if _, p, err := net.SplitHostPort(o.DNSServer); err != nil {
			bad("outbound.dns_server", "%q: want host:port", o.DNSServer)
		} else if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			bad("outbound.dns_server", "%q: bad port", o.DNSServer)
		}
	}
	if o.MTASTSPort <= 0 || o.MTASTSPort > 65535 {
		bad("outbound.mta_sts_port", "must be a port number")
	}
	if o.SourceAddress != "" && net.ParseIP(o.SourceAddress) == nil {
		bad("outbound.source_address", "%q is not an IP address", o.SourceAddress)
	}
	r := c.Relay
	switch r.TLS {
	case "starttls", "implicit", "none":
	default:
		bad("relay.tls", "%q: want \"starttls\", \"implicit\" or \"none\"", r.TLS)
	}
	if r.Host != "" && (r.Port <= 0 || r.Port > 65535) {
		bad("relay.port", "must be a port number")
	}
	if (r.Username == "") != (r.Password == "") {
		bad("relay", "username and password must be set together")
	}
}

func (c Config) writeOutboundDefaults(w func(format string, args ...any), q func(string) string) {
	d := c.Outbound
	w("[outbound]")
	w("# Mail to other servers. With enabled, an authenticated submission client")
	w("# may send to any address: the message is queued durably before the 250 and")
	w("# delivered to the recipients' MX hosts (STARTTLS whenever offered, DKIM-")
	w("# signed with the keys of `letterbox dkim generate DOMAIN`). Off: remote")
	w("# recipients get 550 5.7.1. `letterbox queue list` shows the queue.")
	w("enabled = %t", d.Enabled)
	w("# How long a message is retried before it bounces back to its sender.")
	w("max_age = %s", q(formatDuration(d.MaxAge)))
	w("# After this long still undelivered, the sender is told once; \"0s\": never.")
	w("delay_notice = %s", q(formatDuration(d.DelayNotice)))
	w("# Wait after the first failed attempt, doubled after each one, at most retry_max.")
	w("retry_first = %s", q(formatDuration(d.RetryFirst)))
	w("retry_max = %s", q(formatDuration(d.RetryMax)))
	w("# Most connections at once to one destination domain, and in all.")
	w("per_domain = %d", d.PerDomain)
	w("max_connections = %d", d.MaxConnections)
	w("# A message being delivered is claimed for this long (so two nodes on one")
	w("# database never send it twice at once); after a crash or kill, the messages")
	w("# that were in flight are retried when their claim runs out.")
	w("lease = %s", q(formatDuration(d.Lease)))
	w("# Port of remote MTAs (25). Other values are for tests on loopback.")
	w("port = %d", d.Port)
	w("# DNS server (host:port) asked instead of the system's resolver; for tests.")
	w("dns_server = %s", q(d.DNSServer))
	w("# Local address outgoing connections come from; empty: the system's choice.")
	w("source_address = %s", q(d.SourceAddress))
	w("# MTA-STS (RFC 8461): a recipient domain that publishes a policy in mode")
	w("# \"enforce\" gets its mail only over TLS with a valid certificate, to the MX")
	w("# hosts it names (otherwise the message waits and is retried). Policies are")
	w("# cached in DATA/mta-sts for their max_age.")
	w("mta_sts = %t", d.MTASTS)
	w("# DANE (RFC 7672): an MX host with DNSSEC-signed TLSA records gets mail only")
	w("# over TLS with a certificate they match. letterbox does not validate DNSSEC")
	w("# itself: it trusts the AD bit of the resolver (dns_server, or the first of")
	w("# /etc/resolv.conf), which must be on loopback and must validate (unbound).")
	w("dane = %t", d.DANE)
	w("# HTTPS port of MTA-STS policy hosts (443). Other values are for tests.")
	w("mta_sts_port = %d", d.MTASTSPort)
	w("# PEM file of root certificates trusted, besides the system's, for MX hosts")
	w("# under MTA-STS and for MTA-STS policy hosts (a private CA, or tests).")
	w("ca_file = %s", q(d.CAFile))
	w("")
	r := c.Relay
	w("[inbound]")
	w("# Mail from other servers (the smtp listener): SPF (RFC 7208), DKIM (RFC 6376)")
	w("# and DMARC (RFC 7489) are checked and the result stored in an")
	w("# Authentication-Results field (RFC 8601); fields claiming this server's name")
	w("# are removed. With dmarc_reject, a message failing DMARC whose From domain")
	w("# publishes p=reject is refused with 550 5.7.1.")
	w("check_authentication = %t", c.Inbound.CheckAuthentication)
	w("dmarc_reject = %t", c.Inbound.DMARCReject)
	w("")
	w("[relay]")
	w("# A smarthost that takes all outbound mail instead of the recipients' MX hosts")
	w("# (for a network that blocks port 25). tls: \"starttls\" (required, certificate")
	w("# verified), \"implicit\" (port 465) or \"none\". AUTH PLAIN with username and")
	w("# password, only over TLS unless tls = \"none\".")
	w("host = %s", q(r.Host))
	w("port = %d", r.Port)
	w("tls = %s", q(r.TLS))
	w("username = %s", q(r.Username))
	w("password = %s", q(r.Password))
	w("")
}
