// Package outbound delivers the outbound queue (store.Queue) to the world:
// the SMTP client side of RFC 5321.
//
// A Worker claims due messages from the store (ClaimDue: a lease, so two
// nodes on one PostgreSQL database never send the same message at once and
// a killed worker's messages come back when the lease ends), groups their
// pending recipients by destination domain, and delivers each group over
// one connection: MX lookup with the implicit-MX fallback to A/AAAA
// (RFC 5321 §5.1), every MX in preference order and each of its addresses,
// IPv6 and IPv4; STARTTLS whenever offered (RFC 3207, opportunistic: a
// certificate is not verified, RFC 7435), or a configured smarthost.
// Messages are DKIM-signed (RFC 6376) on the way out when a key exists for
// the sender's domain.
//
// A recipient is marked delivered only after the remote 250 to the data
// (so a crash between the 250 and the store update can repeat a delivery:
// the duplicate window SMTP itself has, RFC 1047). 4xx and connection
// failures are retried with backoff until Options.MaxAge; a 5xx, a domain
// that does not exist or expiry fails the recipient for good and a DSN
// (RFC 3464) goes to the sender's INBOX; after Options.DelayNotice a
// "delayed" DSN goes once.
//
// The package depends only on the store contract (internal/archtest).
package outbound
