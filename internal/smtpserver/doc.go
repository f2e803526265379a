// Package smtpserver takes mail in for letterbox over SMTP (RFC 5321),
// message submission (RFC 6409) and LMTP (RFC 2033), on top of
// github.com/emersion/go-smtp, and hands every accepted message to the
// store with one store.Store.Deliver call.
//
// The three modes share one session type; they differ in who may send what:
//
//   - ModeSMTP (inbound MX, port 25): anyone may send to an existing account
//     in a local domain. Recipients in other domains are refused (no open
//     relay) unless the session authenticated.
//   - ModeSubmission (port 587 with STARTTLS, 465 with implicit TLS): the
//     client must authenticate (AUTH PLAIN or LOGIN, only over TLS) before
//     MAIL, and may only use its own address as the envelope sender.
//   - ModeLMTP (port 2424): a trusted MTA hands over mail for existing
//     accounts; every recipient gets its own reply after DATA (RFC 2033 §4.2).
//
// Every stored message starts with a Return-Path header and a Received trace
// header (RFC 5321 §4.4) followed by the message data exactly as received.
// A message is acknowledged with 250 only after Deliver returned, that is
// after the store made it durable.
//
// Outbound delivery (relaying to other domains) is not implemented: an
// authenticated client that names a remote recipient is told so with a
// permanent 550 5.7.1 reply at RCPT time.
package smtpserver
