// Package conformance compares letterbox's IMAP and POP3 servers with
// Dovecot, the server letterbox means to replace. Its tests start Dovecot
// with a throwaway configuration and letterbox in-process, put the same
// messages into both, send both the same scripted sessions over raw TCP and
// compare the answers after normalising what legitimately differs.
//
// Legitimate differences are explicit, each with its reason and RFC section:
// general ones (quoting, item order, optional response codes, ...) in
// normalise_test.go; whole scripts whose difference is a judgement call
// carry an "allowed" reason in imap_test.go/pop3_test.go and pass while
// logging the diff. Every other difference fails.
//
// Without Dovecot installed the tests skip, unless CI=true, where they fail.
package conformance
