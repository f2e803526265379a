package outbound

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/letterbox/letterbox/internal/store"
)

// conn is one SMTP connection to a remote MTA, past EHLO (and STARTTLS
// when it was offered).
type conn struct {
	c        *smtp.Client
	host     string // the MX name we connected to
	addr     string // ip:port
	local    string // our address
	tls      bool   // the session is encrypted
	verified bool   // and the certificate verified for host
	// verifyErr is why it did not verify (opportunistic sessions).
	verifyErr error
}

// connect opens a connection to host at ip and says EHLO. Without a relay
// STARTTLS is used whenever offered (RFC 3207; opportunistic, RFC 7435:
// the certificate is checked and the result recorded, but not required).
// If the TLS handshake fails, the connection is made again without
// STARTTLS, as other MTAs do, so a broken TLS setup does not stop mail,
// unless a policy requires TLS of this host (h.sec).
func (w *Worker) connect(ctx context.Context, h hop, ip netip.Addr) (*conn, error) {
	cn, err := w.connectOnce(ctx, h, ip, true)
	var tlsErr *tlsFailure
	if errors.As(err, &tlsErr) && w.opts.Relay.Host == "" && !h.sec.enforced() {
		w.opts.Logger.Info("outbound: STARTTLS failed, retrying without TLS", "host", h.name, "addr", ip, "err", tlsErr.err)
		return w.connectOnce(ctx, h, ip, false)
	}
	return cn, err
}

// tlsFailure: the TLS handshake after STARTTLS failed.
type tlsFailure struct{ err error }

func (e *tlsFailure) Error() string { return "STARTTLS handshake: " + e.err.Error() }

func (w *Worker) connectOnce(ctx context.Context, h hop, ip netip.Addr, tryTLS bool) (*conn, error) {
	port := w.opts.Port
	relay := w.opts.Relay
	if relay.Host != "" {
		port = relay.Port
		if port == 0 {
			port = 587
			if relay.TLS == "implicit" {
				port = 465
			}
		}
	}
	addr := net.JoinHostPort(ip.String(), strconv.Itoa(port))
	dctx, cancel := context.WithTimeout(ctx, w.opts.ConnectTimeout)
	raw, err := w.opts.Dial(dctx, "tcp", addr)
	cancel()
	if err != nil {
		return nil, err
	}
	cn := &conn{host: h.name, addr: addr}
	if ta, ok := raw.LocalAddr().(*net.TCPAddr); ok {
		cn.local = ta.IP.String()
	}
	var nc net.Conn = raw
	if relay.Host != "" && relay.TLS == "implicit" {
		tc := tls.Client(raw, w.relayTLS(h.name))
		raw.SetDeadline(time.Now().Add(w.opts.CommandTimeout))
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("TLS to relay: %w", err)
		}
		raw.SetDeadline(time.Time{})
		nc, cn.tls, cn.verified = tc, true, true
	} else {
		nc, err = w.preamble(ctx, cn, raw, h, tryTLS)
		var se *securityError
		if errors.As(err, &se) {
			se.local = cn.local
		}
		if err != nil {
			raw.Close()
			return nil, err
		}
	}
	c := smtp.NewClient(nc)
	c.CommandTimeout = w.opts.CommandTimeout
	if err := c.Hello(w.opts.Hostname); err != nil {
		c.Close()
		return nil, err
	}
	cn.c = c
	if relay.Host != "" && relay.Username != "" {
		if !cn.tls && relay.TLS != "none" {
			c.Close()
			return nil, errors.New("relay: no TLS, not sending the password")
		}
		if err := c.Auth(sasl.NewPlainClient("", relay.Username, relay.Password)); err != nil {
			c.Close()
			return nil, fmt.Errorf("relay AUTH: %w", err)
		}
	}
	return cn, nil
}

func (w *Worker) relayTLS(name string) *tls.Config {
	return &tls.Config{ServerName: name, RootCAs: w.opts.RelayRootCAs, MinVersion: tls.VersionTLS12}
}

// preamble reads the greeting, says EHLO and, when STARTTLS is offered
// (and wanted), upgrades the connection, on raw; it returns the connection
// for go-smtp's client with a greeting replayed in front, so the client
// says EHLO itself (again, which RFC 5321 §4.1.4 allows; after STARTTLS it
// must, RFC 3207 §4.2).
//
// A host whose policy requires TLS (h.sec) must offer STARTTLS and pass
// checkPeer; otherwise the connection is refused with a *securityError.
func (w *Worker) preamble(ctx context.Context, cn *conn, raw net.Conn, h hop, tryTLS bool) (net.Conn, error) {
	name := h.name
	required := h.sec.enforced()
	raw.SetDeadline(time.Now().Add(w.opts.CommandTimeout))
	defer raw.SetDeadline(time.Time{})
	tp := textproto.NewConn(raw)
	if code, msg, err := tp.ReadResponse(220); err != nil {
		return nil, replyError(code, msg, err, "greeting")
	}
	if err := tp.PrintfLine("EHLO %s", w.opts.Hostname); err != nil {
		return nil, err
	}
	code, msg, err := tp.ReadResponse(250)
	if err != nil {
		if code == 0 {
			return nil, err
		}
		// No EHLO (an old server): go-smtp falls back to HELO.
		return &replayConn{Conn: raw, pending: []byte("220 " + name + "\r\n")}, nil
	}
	offered := false
	for _, line := range strings.Split(msg, "\n") {
		if strings.EqualFold(strings.TrimSpace(line), "STARTTLS") {
			offered = true
		}
	}
	relay := w.opts.Relay.Host != ""
	if relay && w.opts.Relay.TLS == "starttls" && !offered {
		return nil, errors.New("relay does not offer STARTTLS")
	}
	if !offered && required {
		return nil, &securityError{resultType: "starttls-not-supported", host: name, err: errors.New("STARTTLS not offered, and a policy requires it")}
	}
	if !offered || !tryTLS || (relay && w.opts.Relay.TLS == "none") {
		return &replayConn{Conn: raw, pending: []byte("220 " + name + "\r\n")}, nil
	}
	if err := tp.PrintfLine("STARTTLS"); err != nil {
		return nil, err
	}
	if code, msg, err := tp.ReadResponse(220); err != nil {
		if code == 0 {
			return nil, err
		}
		// Refused: go on in plain text (opportunistic), unless a relay
		// or a policy requires TLS.
		if required {
			return nil, &securityError{resultType: "starttls-not-supported", host: name, err: replyError(code, msg, err, "STARTTLS")}
		}
		if relay {
			return nil, replyError(code, msg, err, "STARTTLS")
		}
		return &replayConn{Conn: raw, pending: []byte("220 " + name + "\r\n")}, nil
	}
	if tp.R.Buffered() > 0 {
		// Plain-text data after the 220 would be taken as if it came
		// over TLS (the STARTTLS command injection, CVE-2011-0411).
		return nil, errors.New("data after the STARTTLS reply")
	}
	cfg := &tls.Config{ServerName: name, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
	if relay {
		cfg = w.relayTLS(name)
	}
	tc := tls.Client(raw, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		if relay {
			return nil, fmt.Errorf("STARTTLS to relay: %w", err)
		}
		if required {
			return nil, &securityError{resultType: "validation-failure", host: name, err: fmt.Errorf("TLS handshake: %w", err)}
		}
		return nil, &tlsFailure{err}
	}
	cn.tls = true
	if relay {
		cn.verified = true
	} else {
		cs := tc.ConnectionState()
		if err := w.checkPeer(cs, h); err != nil {
			return nil, err
		}
		cn.verifyErr = w.verifyPKIX(cs, name)
		cn.verified = cn.verifyErr == nil || len(h.sec.tlsa) > 0 // DANE-authenticated
	}
	return &replayConn{Conn: tc, pending: []byte("220 " + name + "\r\n")}, nil
}

// replyError turns a textproto reply error into an *smtp.SMTPError when
// it is one.
func replyError(code int, msg string, err error, what string) error {
	if code == 0 {
		return fmt.Errorf("%s: %w", what, err)
	}
	e := &smtp.SMTPError{Code: code, Message: msg}
	if parts := strings.SplitN(msg, " ", 2); len(parts) == 2 {
		if ec, ok := parseEnhanced(parts[0]); ok {
			e.EnhancedCode, e.Message = ec, parts[1]
		}
	}
	return e
}

func parseEnhanced(s string) (smtp.EnhancedCode, bool) {
	p := strings.Split(s, ".")
	if len(p) != 3 {
		return smtp.EnhancedCode{}, false
	}
	var ec smtp.EnhancedCode
	for i, v := range p {
		n, err := strconv.Atoi(v)
		if err != nil {
			return smtp.EnhancedCode{}, false
		}
		ec[i] = n
	}
	return ec, true
}

// replayConn returns pending before the connection's own data: the
// greeting go-smtp's client waits for.
type replayConn struct {
	net.Conn
	pending []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// close ends the session politely, or not at all when it is broken.
func (cn *conn) close() {
	done := make(chan struct{})
	go func() {
		cn.c.Quit()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
	cn.c.Close()
}

// rcptResult is the fate of one recipient in one attempt.
type rcptResult struct {
	addr   string
	kind   resultKind
	text   string // the reply or error
	status string // RFC 3463 status for a DSN
	remote string // the host that answered ("" when none did)
	tls    bool   // over TLS
	// relayed: delivered to a server that does not offer DSN, so it will
	// send no success notice (RFC 3461 §5.2.2).
	relayed bool
}

type resultKind int

const (
	resultTemp resultKind = iota
	resultDelivered
	resultPerm
)

// send transmits one message to its recipients on cn. A protocol reply
// decides per recipient (or for all, at MAIL and DATA); an error that is
// not a reply (the connection broke) is returned as connErr and the
// message counts as not attempted on this connection.
//
// The message's DSN parameters (RFC 3461) go along (go-smtp's client
// sends them only to a server that offers DSN, §5.2.1); a recipient
// delivered to a server without DSN is marked so a requested success
// notice can say "relayed" (§5.2.2, RFC 3464 §2.3.3).
func (cn *conn) send(m store.OutboundMessage, rcpts []string, size int64, body func() io.Reader) (results []rcptResult, connErr error) {
	c := cn.c
	from := m.From
	opts := &smtp.MailOptions{Size: size, Return: smtp.DSNReturn(m.Ret), EnvelopeID: m.EnvID}
	if !isPrintable(m.EnvID) {
		opts.EnvelopeID = "" // go-smtp refuses it; not ours to fix
	}
	hasDSN, _ := c.Extension("DSN")
	if !isASCII(from) || !allASCII(rcpts) {
		opts.UTF8 = true
	}
	all := func(err error) []rcptResult {
		out := make([]rcptResult, len(rcpts))
		for i, r := range rcpts {
			out[i] = fromReply(r, err)
		}
		return out
	}
	if opts.UTF8 {
		if ok, _ := c.Extension("SMTPUTF8"); !ok {
			// RFC 6531 §3.2: an address that needs SMTPUTF8 cannot go to
			// a server without it; no downgrade, so a bounce now rather
			// than retries until expiry.
			return all(&smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 6, 7},
				Message: "the receiving server does not support SMTPUTF8, which this address needs"}), nil
		}
	}
	if err := c.Mail(from, opts); err != nil {
		if !isReply(err) {
			return nil, err
		}
		c.Reset()
		return all(err), nil
	}
	results = make([]rcptResult, len(rcpts))
	var accepted []int
	for i, r := range rcpts {
		if err := c.Rcpt(r, rcptDSN(m, r)); err != nil {
			if !isReply(err) {
				return nil, err
			}
			results[i] = fromReply(r, err)
			continue
		}
		accepted = append(accepted, i)
	}
	if len(accepted) == 0 {
		if err := c.Reset(); err != nil && !isReply(err) {
			return results, err
		}
		return results, nil
	}
	dataErr := func() error {
		wc, err := c.Data()
		if err != nil {
			return err
		}
		if _, err := io.Copy(wc, body()); err != nil {
			return err
		}
		return wc.Close()
	}()
	if dataErr != nil && !isReply(dataErr) {
		return nil, dataErr
	}
	for _, i := range accepted {
		if dataErr != nil {
			results[i] = fromReply(rcpts[i], dataErr)
		} else {
			results[i] = rcptResult{addr: rcpts[i], kind: resultDelivered, text: "250 accepted", status: "2.0.0", relayed: !hasDSN}
		}
	}
	return results, nil
}

// rcptDSN is the RCPT DSN parameters of recipient addr of m (RFC 3461
// §4.1, §4.2): its NOTIFY, and its ORCPT, or the address itself as ORCPT
// when none was given (§4.2 allows adding it when relaying).
func rcptDSN(m store.OutboundMessage, addr string) *smtp.RcptOptions {
	var r store.OutboundRecipient
	for _, x := range m.Recipients {
		if x.Address == addr {
			r = x
			break
		}
	}
	o := &smtp.RcptOptions{}
	if r.Notify != "" {
		for _, n := range strings.Split(r.Notify, ",") {
			o.Notify = append(o.Notify, smtp.DSNNotify(n))
		}
	}
	typ, orcpt, ok := strings.Cut(r.ORcpt, ";")
	if !ok {
		typ, orcpt = "rfc822", addr
	}
	switch {
	case strings.EqualFold(typ, "rfc822") && isPrintable(orcpt):
		o.OriginalRecipientType, o.OriginalRecipient = smtp.DSNAddressTypeRFC822, orcpt
	case strings.EqualFold(typ, "utf-8"):
		o.OriginalRecipientType, o.OriginalRecipient = smtp.DSNAddressTypeUTF8, orcpt
	}
	return o
}

// isPrintable: printable US-ASCII, what xtext can carry (RFC 3461 §4).
func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func isReply(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se)
}

// fromReply classifies a reply: 5xx is permanent, the rest temporary.
func fromReply(addr string, err error) rcptResult {
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		return rcptResult{addr: addr, kind: resultTemp, text: err.Error(), status: "4.4.1"}
	}
	text := strconv.Itoa(se.Code)
	status := ""
	if se.EnhancedCode != (smtp.EnhancedCode{}) && se.EnhancedCode != smtp.NoEnhancedCode {
		status = fmt.Sprintf("%d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
		text += " " + status
	}
	text += " " + strings.ReplaceAll(se.Message, "\n", " ")
	kind := resultTemp
	if se.Code >= 500 {
		kind = resultPerm
	}
	if status == "" || status[0] != text[0] {
		status = fmt.Sprintf("%c.0.0", text[0])
	}
	return rcptResult{addr: addr, kind: kind, text: text, status: status}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func allASCII(ss []string) bool {
	for _, s := range ss {
		if !isASCII(s) {
			return false
		}
	}
	return true
}
