// Package pop3client is a small POP3 client (RFC 1939) with the extensions
// letterbox's server offers: CAPA (RFC 2449), STLS (RFC 2595), AUTH PLAIN
// (RFC 5034, RFC 4616) and UTF8 (RFC 6856). The CLI client uses it, and the
// POP3 server's tests use it as an independent client.
//
// A Client is not safe for concurrent use. Retr and Top return a reader of
// the message; read it to the end before the next command, or the next
// command discards the rest.
package pop3client
