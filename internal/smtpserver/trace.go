package smtpserver

import (
	"context"
	"crypto/tls"
	"net"
	"net/netip"
	"strings"
	"time"
)

// traceInfo is what the trace headers of one message say.
type traceInfo struct {
	from     string // reverse-path, "" for the null sender
	helo     string // HELO/EHLO/LHLO argument as given
	rdns     string // reverse DNS name of the client, "" if unknown
	remote   netip.Addr
	hostname string // our name
	protocol string // RFC 3848 / RFC 6531 §3.7.3 "with" keyword
	tls      *tls.ConnectionState
	id       string
	rcpt     string // the single recipient, "" when several
	date     time.Time
}

// header returns the Return-Path and Received header fields (RFC 5321 §4.4)
// that go in front of the message data:
//
//	Return-Path: <sender>
//	Received: from helo (rdns [ip])
//		(using TLS 1.3 with cipher ...)
//		by hostname (letterbox) with ESMTPS id ID
//		for <rcpt>; date
func (t traceInfo) header() []byte {
	var b strings.Builder
	b.WriteString("Return-Path: <" + t.from + ">\r\n")
	b.WriteString("Received: from " + sanitizeHelo(t.helo))
	if t.remote.IsValid() { // not for LMTP over a unix socket
		tcpInfo := addressLiteral(t.remote)
		if t.rdns != "" {
			tcpInfo = t.rdns + " " + tcpInfo
		}
		b.WriteString(" (" + tcpInfo + ")")
	}
	b.WriteString("\r\n")
	if t.tls != nil {
		b.WriteString("\t(using " + tls.VersionName(t.tls.Version) + " with cipher " +
			tls.CipherSuiteName(t.tls.CipherSuite) + ")\r\n")
	}
	b.WriteString("\tby " + t.hostname + " (letterbox) with " + t.protocol + " id " + t.id)
	if t.rcpt != "" {
		b.WriteString("\r\n\tfor <" + t.rcpt + ">")
	}
	b.WriteString("; " + t.date.Format(time.RFC1123Z) + "\r\n")
	return []byte(b.String())
}

// protocolName is the "with" keyword: RFC 3848 (ESMTP, ESMTPS, ESMTPA,
// ESMTPSA, LMTP...) with RFC 6531 §3.7.3's UTF8 prefix for SMTPUTF8
// transactions. go-smtp does not tell HELO from EHLO, so plain "SMTP" is
// never used.
func protocolName(mode Mode, utf8, tlsOn, authOn bool) string {
	p := "SMTP"
	switch {
	case mode == ModeLMTP:
		p = "LMTP"
	case !utf8:
		p = "ESMTP"
	}
	if utf8 {
		p = "UTF8" + p
	}
	if tlsOn {
		p += "S"
	}
	if authOn {
		p += "A"
	}
	return p
}

// addressLiteral writes an IP as RFC 5321 §4.1.3 wants it.
func addressLiteral(a netip.Addr) string {
	if a.Is4() {
		return "[" + a.String() + "]"
	}
	return "[IPv6:" + a.String() + "]"
}

// sanitizeHelo keeps a client-chosen HELO argument from breaking the header:
// only characters of domain names and address literals pass.
func sanitizeHelo(h string) string {
	var b strings.Builder
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			strings.ContainsRune(".-_:[]", r), r > 0x7f:
			b.WriteRune(r)
		default:
			b.WriteByte('?')
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}

// reverseName looks up the client's name for the Received header, giving up
// after a short time: the header is informational and must not delay mail.
// LMTP clients are our own MTA; like Dovecot we do not look them up.
func (srv *Server) reverseName(ctx context.Context, a netip.Addr) string {
	if !a.IsValid() || srv.opts.Mode == ModeLMTP {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	lookup := srv.opts.LookupAddr
	if lookup == nil {
		lookup = net.DefaultResolver.LookupAddr
	}
	names, err := lookup(ctx, a.String())
	if err != nil || len(names) == 0 {
		return ""
	}
	name := strings.TrimSuffix(names[0], ".")
	if sanitizeHelo(name) != name {
		return ""
	}
	return name
}
