package smtpserver

import (
	"context"
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/metrics"
	"github.com/letterbox/letterbox/internal/msgauth"
	"github.com/letterbox/letterbox/internal/store"
)

// Mode selects which protocol and which sending rules a Server applies.
type Mode int

const (
	// ModeSMTP is inbound mail exchange (RFC 5321), port 25.
	ModeSMTP Mode = iota
	// ModeSubmission is message submission (RFC 6409), port 587 with
	// STARTTLS or 465 with implicit TLS (RFC 8314): AUTH before MAIL.
	ModeSubmission
	// ModeLMTP is local mail transfer (RFC 2033).
	ModeLMTP
)

// String names the mode for logs.
func (m Mode) String() string {
	switch m {
	case ModeSMTP:
		return "smtp"
	case ModeSubmission:
		return "submission"
	case ModeLMTP:
		return "lmtp"
	}
	return "unknown"
}

// Defaults used for zero Options fields.
const (
	DefaultMaxMessageSize = 50 << 20 // octets of DATA/BDAT
	DefaultMaxRecipients  = 100      // RFC 5321 §4.5.3.1.8 minimum
	// DefaultMaxLineLength bounds command lines and DATA lines (octets).
	// RFC 5321 §4.5.3.1.6 allows 1000 for text lines; real mail often has
	// longer ones, so we are lenient but bounded.
	DefaultMaxLineLength = 8192
	// DefaultReadTimeout is how long one read from the client may block
	// (RFC 5321 §4.5.3.2.7 suggests 5 minutes for the server).
	DefaultReadTimeout  = 5 * time.Minute
	DefaultWriteTimeout = time.Minute
	// DefaultMaxConnsPerIP bounds simultaneous connections from one IP
	// address. Above Postfix's default per-destination concurrency (20), so
	// an MTA on one address (LMTP from localhost) is never refused.
	DefaultMaxConnsPerIP = 50
	// DefaultMaxConns bounds simultaneous connections to one Server.
	DefaultMaxConns = 1000
)

// Options configure a Server. Only Store is required.
type Options struct {
	Mode  Mode
	Store store.Store
	// Auth checks AUTH PLAIN/LOGIN. nil: AUTH is not offered (and
	// ModeSubmission then refuses every MAIL).
	Auth auth.Authenticator
	// TLS enables STARTTLS (RFC 3207) when set. For an implicit-TLS port
	// pass a listener from tls.NewListener; Serve recognises its conns
	// (and needs TLS set to count them against MaxConnsPerIP/MaxConns).
	TLS *tls.Config
	// Hostname is this server's name in the greeting and in the "by" clause
	// of Received headers.
	Hostname string
	// LocalDomains lists extra domains this server is the final destination
	// for, besides the domains of existing accounts. May be nil.
	LocalDomains func() []string
	// MaxMessageSize bounds the message data in octets (SIZE, RFC 1870).
	MaxMessageSize int64
	// MaxRecipients bounds RCPT commands per transaction.
	MaxRecipients int
	// MaxLineLength bounds a command or DATA line in octets.
	MaxLineLength int
	// MaxConnsPerIP bounds simultaneous connections from one remote IP
	// address, every listener of the Server counted together; over it the
	// client gets "421 4.7.0 Too many connections from your address"
	// instead of the greeting (RFC 5321 §3.1) and is closed.
	MaxConnsPerIP int
	// MaxConns bounds simultaneous connections to the Server; over it:
	// "421 4.7.0 Too many connections".
	MaxConns int
	// ReadTimeout bounds each read from the client (idle time between
	// commands and between data packets); WriteTimeout each write.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// AllowInsecureAuth offers AUTH without TLS. Only for tests and for
	// loopback-only deployments.
	AllowInsecureAuth bool
	// LookupAddr resolves the client's IP to names for the Received header.
	// nil: net.DefaultResolver with a short timeout.
	LookupAddr func(ctx context.Context, addr string) ([]string, error)
	// Queue, when set, accepts remote recipients of authenticated clients
	// (submission) into the outbound queue; nil refuses them with
	// 550 5.7.1 "remote delivery is not configured".
	Queue store.Queue
	// Queued is called after a message was queued (to wake the delivery
	// worker). May be nil.
	Queued func()
	// Delivered, when set, is called in its own goroutine after a message
	// was stored for a local recipient (account, the envelope recipient,
	// the envelope sender, and the start of the message as stored: at
	// least its header section, up to 64 KiB). The vacation autoresponder
	// (internal/vacation) is hooked here; the SMTP reply does not wait.
	Delivered func(ctx context.Context, account, rcpt, envFrom string, head []byte)
	// AuthCheck, when set, checks SPF, DKIM and DMARC of mail from
	// unauthenticated clients in ModeSMTP and adds an
	// Authentication-Results field (RFC 8601). The message is spooled to
	// a file in SpoolDir ("" : the system's temporary directory) for it.
	AuthCheck *msgauth.Checker
	// DMARCReject refuses (550 5.7.1) a message that fails DMARC when its
	// From domain publishes p=reject.
	DMARCReject bool
	SpoolDir    string
	// Now is the clock for trace headers; nil means time.Now.
	Now func() time.Time
	// Logger receives one line per transaction and unexpected errors; nil
	// discards.
	Logger *slog.Logger
	// Metrics gets connections and deliveries; nil: none.
	Metrics *metrics.Metrics
}

// withDefaults returns o with zero fields filled in.
func (o Options) withDefaults() Options {
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	if o.MaxRecipients <= 0 {
		o.MaxRecipients = DefaultMaxRecipients
	}
	if o.MaxLineLength <= 0 {
		o.MaxLineLength = DefaultMaxLineLength
	}
	if o.MaxConnsPerIP <= 0 {
		o.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
