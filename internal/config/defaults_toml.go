package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultsTOML is the whole configuration file with every key at its
// default and a comment for each: the output of `letterbox config
// defaults`, meant to be saved and edited. Parsing it gives Defaults().
func DefaultsTOML() string {
	d := Defaults()
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	q := strconv.Quote
	w("# letterbox configuration (TOML). Every key is optional: a missing key keeps")
	w("# the default shown here. Sizes take B, KiB, MiB or GiB; durations take")
	w("# s, m or h (\"90s\", \"10m\", \"1h\").")
	w("#")
	w("# letterbox reads DATA/letterbox.toml, where DATA is --data, $LETTERBOX_DATA")
	w("# or ./letterbox-data, or the file given with --config.")
	w("")
	w("# Where the database, message files and self-signed certificate live.")
	w("# Empty: the --data directory.")
	w("data_dir = %s", q(d.DataDir))
	w("")
	w("# This server's name in greetings, Received headers and the self-signed")
	w("# certificate. Empty: the system's host name.")
	w("hostname = %s", q(d.Hostname))
	w("")
	w("# Mail domains delivered here, besides the domains of existing accounts.")
	w("# Mail for any other domain is refused unless the sender authenticated.")
	w("local_domains = %s", quoteList(d.LocalDomains))
	w("")
	w("# When a password may be sent over a connection without TLS: \"loopback\"")
	w("# (POP3 USER/PASS and IMAP LOGIN only from this machine), \"never\" or")
	w("# \"always\". SMTP submission requires STARTTLS before AUTH unless \"always\".")
	w("allow_plaintext_auth = %s", q(d.AllowPlaintextAuth))
	w("")
	w("# Largest message accepted by SMTP, LMTP and IMAP APPEND.")
	w("max_message_size = %s", q(d.MaxMessageSize.String()))
	w("")
	w("[store]")
	w("# Where accounts and mail are kept. \"sqlite\": one node, everything in the")
	w("# data directory. \"postgres\": a PostgreSQL database that several letterbox")
	w("# nodes may share (message bodies included; no shared file system needed).")
	w("driver = %s", q(d.Store.Driver))
	w("# PostgreSQL connection string for driver \"postgres\", as a URL")
	w("# (\"postgres://user:password@host:5432/letterbox?sslmode=verify-full\") or")
	w("# key=value pairs (\"host=db user=letterbox dbname=letterbox\"). The tables")
	w("# are created in the connection's schema (search_path) on first start. The")
	w("# environment variable %s, when set, replaces this key.", EnvPostgresDSN)
	w("dsn = %s", q(d.Store.DSN))
	w("# Local directory where the postgres driver stages incoming messages before")
	w("# copying them into the database. Empty: DATA/spool.")
	w("spool_dir = %s", q(d.Store.SpoolDir))
	w("")
	w("[tls]")
	w("# PEM certificate (leaf first, then intermediates) and its private key.")
	w("# Both empty: a self-signed certificate is made on first start and kept in")
	w("# DATA/tls/cert.pem and key.pem.")
	w("cert_file = %s", q(d.TLS.CertFile))
	w("key_file = %s", q(d.TLS.KeyFile))
	w("")
	w("[listen]")
	w("# Address (host:port) of each listener; \"\" disables it. Use \":25\" or")
	w("# \"0.0.0.0:25\" to listen on every interface. Standard ports: smtp 25,")
	w("# submission 587, submissions 465, pop3 110, pop3s 995, imap 143, imaps 993.")
	w("# Inbound mail from other servers (SMTP, RFC 5321).")
	w("smtp = %s", q(d.Listen.SMTP))
	w("# Mail submission by users, STARTTLS then AUTH (RFC 6409).")
	w("submission = %s", q(d.Listen.Submission))
	w("# Mail submission over implicit TLS (RFC 8314).")
	w("submissions = %s", q(d.Listen.Submissions))
	w("# Local delivery from an MTA such as Postfix (LMTP, RFC 2033).")
	w("lmtp = %s", q(d.Listen.LMTP))
	w("# POP3 with STLS (RFC 1939, RFC 2595).")
	w("pop3 = %s", q(d.Listen.POP3))
	w("# POP3 over implicit TLS (RFC 8314).")
	w("pop3s = %s", q(d.Listen.POP3S))
	w("# IMAP with STARTTLS (RFC 9051, RFC 3501).")
	w("imap = %s", q(d.Listen.IMAP))
	w("# IMAP over implicit TLS (RFC 8314).")
	w("imaps = %s", q(d.Listen.IMAPS))
	w("")
	w("[smtp]")
	w("# Most RCPT TO commands in one transaction (RFC 5321 §4.5.3.1.8 asks for 100).")
	w("max_recipients = %d", d.SMTP.MaxRecipients)
	w("# Longest command or message line accepted.")
	w("max_line_length = %s", q(d.SMTP.MaxLineLength.String()))
	w("# How long the server waits for the client to send something.")
	w("read_timeout = %s", q(formatDuration(d.SMTP.ReadTimeout)))
	w("# How long one write to the client may take.")
	w("write_timeout = %s", q(formatDuration(d.SMTP.WriteTimeout)))
	w("# Most simultaneous connections from one IP address, and in all, to each")
	w("# of the SMTP, submission (587 and 465 together) and LMTP services; over")
	w("# either the client gets \"421 4.7.0 Too many connections\" and is closed.")
	w("max_connections_per_ip = %d", d.SMTP.MaxConnectionsPerIP)
	w("max_connections = %d", d.SMTP.MaxConnections)
	w("")
	w("[pop3]")
	w("# Longest command line accepted.")
	w("max_line_length = %s", q(d.POP3.MaxLineLength.String()))
	w("# Idle clients are logged out after this long (RFC 1939 §3: at least 10m).")
	w("idle_timeout = %s", q(formatDuration(d.POP3.IdleTimeout)))
	w("# Most simultaneous connections from one IP address, and in all (POP3 and")
	w("# POP3S together); over either the client gets \"-ERR [SYS/TEMP] too many")
	w("# connections\" and is closed.")
	w("max_connections_per_ip = %d", d.POP3.MaxConnectionsPerIP)
	w("max_connections = %d", d.POP3.MaxConnections)
	w("")
	w("[imap]")
	w("# Longest command line accepted, literals not counted.")
	w("max_line_length = %s", q(d.IMAP.MaxLineLength.String()))
	w("# Largest literal in commands other than APPEND (APPEND takes up to")
	w("# max_message_size).")
	w("max_literal_size = %s", q(d.IMAP.MaxLiteralSize.String()))
	w("# Most simultaneous connections from one IP address, and in all (IMAP and")
	w("# IMAPS together); over either the client gets \"* BYE [UNAVAILABLE] too")
	w("# many connections\" and is closed.")
	w("max_connections_per_ip = %d", d.IMAP.MaxConnectionsPerIP)
	w("max_connections = %d", d.IMAP.MaxConnections)
	w("# Most simultaneous logged-in sessions of one account.")
	w("max_connections_per_user = %d", d.IMAP.MaxConnectionsPerUser)
	w("# Idle clients are logged out after this long (RFC 3501 §5.4: at least 30m;")
	w("# IDLE always lasts at least 29m, RFC 2177).")
	w("idle_timeout = %s", q(formatDuration(d.IMAP.IdleTimeout)))
	w("# How long reading one command (from its first octet; each 64 KiB received")
	w("# adds a second, so slow large APPENDs are not cut off) or writing one")
	w("# response may take.")
	w("command_timeout = %s", q(formatDuration(d.IMAP.CommandTimeout)))
	w("")
	w("[auth]")
	w("# Each failed login waits failure_delay times the recent failures of its")
	w("# IP address or account, at most max_failure_delay. Successful logins never")
	w("# wait.")
	w("failure_delay = %s", q(formatDuration(d.Auth.FailureDelay)))
	w("max_failure_delay = %s", q(formatDuration(d.Auth.MaxFailureDelay)))
	w("# An IP address (IPv6: its /64) with this many failures within")
	w("# failure_window is refused without a password check for failure_window.")
	w("# Failures against an account never block other addresses.")
	w("max_failures_per_ip = %d", d.Auth.MaxFailuresPerIP)
	w("failure_window = %s", q(formatDuration(d.Auth.FailureWindow)))
	w("# argon2id cost of new password hashes (RFC 9106). Existing hashes keep")
	w("# the parameters they were made with.")
	w("argon2_memory = %s", q(d.Auth.Argon2Memory.String()))
	w("argon2_time = %d", d.Auth.Argon2Time)
	w("argon2_threads = %d", d.Auth.Argon2Threads)
	w("")
	w("[log]")
	w("# Log level on standard error: \"debug\", \"info\", \"warn\" or \"error\".")
	w("level = %s", q(d.Log.Level))
	return b.String()
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// formatDuration writes whole hours, minutes or seconds without the zero
// parts time.Duration.String adds ("10m", not "10m0s").
func formatDuration(d time.Duration) string {
	switch {
	case d != 0 && d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d != 0 && d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d != 0 && d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}
