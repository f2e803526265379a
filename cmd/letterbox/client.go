package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/letterbox/letterbox/internal/mailclient"
)

// The client verbs: a command-line mail client over IMAP or POP3 for any
// server (letterbox, Dovecot, a provider). Connection flags may come before
// or after the verb:
//
//	letterbox client --url imaps://alice@mail.example.com list --limit 20
//	letterbox client read 42 --url pop3s://alice@mail.example.com
func init() {
	register(&command{
		name:    "client",
		usage:   "[--account NAME | --url URL] <verb> ...",
		summary: "mail client over IMAP/POP3 (letterbox client --help)",
		run:     runClient,
	})
}

// clientVerb is one verb of `letterbox client`.
type clientVerb struct {
	name, usage, summary string
	flags                func(fs *flag.FlagSet, cf *clientFlags) // the verb's own flags
	run                  func(e *env, c mailclient.Client, cf *clientFlags, pos []string) error
	// own, instead of run, is a verb that connects by itself (or not at
	// all): send, reply and forward edit before they connect.
	own func(e *env, s *clientSetup, cf *clientFlags, pos []string) error
	// args checks the positional arguments and flags before connecting
	// (instead of the shared rules of check).
	args func(cf *clientFlags, pos []string) error
	// json says the verb has a --json form.
	json bool
	// offline is a verb that needs no server (accounts).
	offline func(e *env, cf *clientFlags, pos []string) error
}

// clientFlags are the connection flags and the union of every verb's
// flags (each verb registers the ones it reads).
type clientFlags struct {
	url, user, passwordFile, tlsMode, ca, serverName string
	insecure                                         bool
	timeout                                          time.Duration

	mailbox, subject, from, out, state, to, maildir, keyword string
	limit                                                    int
	unseen, peek, keepUnseen, seen, flagged, answered, unset bool

	clientMoreFlags
}

var clientVerbs = []*clientVerb{
	{name: "list", usage: "[--mailbox M] [--limit N]", summary: "list messages, newest last",
		flags: func(fs *flag.FlagSet, cf *clientFlags) {
			mailboxFlag(fs, cf)
			fs.IntVar(&cf.limit, "limit", 0, "show only the last N messages")
		},
		run: clientList, json: true},
	{name: "read", usage: "ID [--mailbox M] [--peek] [--raw]", summary: "show a message: decoded header, text, attachments (IMAP: UID; POP3: number or uidl:X)",
		flags: func(fs *flag.FlagSet, cf *clientFlags) {
			mailboxFlag(fs, cf)
			fs.BoolVar(&cf.peek, "peek", false, "IMAP: do not set \\Seen")
			fs.BoolVar(&cf.raw, "raw", false, "print the raw RFC 5322 message instead")
		},
		run: clientRead, json: true},
	{name: "search", usage: "[--subject WORD] [--from X] [--unseen] [--mailbox M] [--state FILE]", summary: "find messages by subject/sender",
		flags: func(fs *flag.FlagSet, cf *clientFlags) {
			mailboxFlag(fs, cf)
			fs.StringVar(&cf.subject, "subject", "", "Subject contains WORD (case-insensitive)")
			fs.StringVar(&cf.from, "from", "", "From contains X")
			fs.BoolVar(&cf.unseen, "unseen", false, "only unread messages (POP3: not in --state)")
			fs.StringVar(&cf.state, "state", "", "POP3: the UIDL state file of `unread`")
		},
		run: clientSearch, json: true},
	{name: "unread", usage: "--out DIR [--mailbox M] [--state FILE] [--keep-unseen]", summary: "download unread messages as .eml files",
		flags: func(fs *flag.FlagSet, cf *clientFlags) {
			mailboxFlag(fs, cf)
			fs.StringVar(&cf.out, "out", "", "directory for the .eml files")
			fs.StringVar(&cf.state, "state", "", "POP3: UIDL state file (default DIR/"+pop3StateFile+")")
			fs.BoolVar(&cf.keepUnseen, "keep-unseen", false, "IMAP: leave the messages unread on the server")
		},
		run: clientUnread, json: true},
	{name: "delete", usage: "ID... [--mailbox M]", summary: "delete messages",
		flags: mailboxFlag, run: clientDelete},
	{name: "move", usage: "ID... --to M [--mailbox M]", summary: "move messages to another mailbox (IMAP)",
		flags: func(fs *flag.FlagSet, cf *clientFlags) {
			mailboxFlag(fs, cf)
			fs.StringVar(&cf.to, "to", "", "destination mailbox")
		},
		run: clientMove},
	{name: "flag", usage: "ID... [--seen] [--flagged] [--answered] [--keyword K] [--unset]", summary: "set or clear flags (IMAP)",
		flags: func(fs *flag.FlagSet, cf *clientFlags) {
			mailboxFlag(fs, cf)
			fs.BoolVar(&cf.seen, "seen", false, `\Seen`)
			fs.BoolVar(&cf.flagged, "flagged", false, `\Flagged`)
			fs.BoolVar(&cf.answered, "answered", false, `\Answered`)
			fs.StringVar(&cf.keyword, "keyword", "", "a keyword such as $Important")
			fs.BoolVar(&cf.unset, "unset", false, "clear the flags instead of setting them")
		},
		run: clientFlag},
	{name: "mailboxes", summary: "list mailboxes with message counts (IMAP)", run: clientMailboxes, json: true},
	{name: "sync", usage: "--maildir DIR [--mailbox M] | ROOT [--mailbox M]", summary: "two-way sync: every folder under ROOT (IMAP), or one mailbox with the Maildir DIR",
		flags: func(fs *flag.FlagSet, cf *clientFlags) {
			fs.StringVar(&cf.mailbox, "mailbox", "", "only this folder (default: every folder under ROOT; INBOX with --maildir)")
			fs.StringVar(&cf.maildir, "maildir", "", "sync one mailbox with this Maildir itself")
		},
		run: clientSync},
}

// pop3StateFile is the default UIDL state file of `unread` in --out.
const pop3StateFile = ".letterbox-pop3-uidl"

func mailboxFlag(fs *flag.FlagSet, cf *clientFlags) {
	fs.StringVar(&cf.mailbox, "mailbox", "INBOX", "mailbox (POP3: INBOX only)")
}

// connectionFlags are the flags every verb takes; valueFlags take a value.
func connectionFlags(fs *flag.FlagSet, cf *clientFlags) {
	fs.StringVar(&cf.url, "url", "", "server: imaps://[user@]host[:port], imap://, pop3s://, pop3:// (default $LETTERBOX_URL)")
	fs.StringVar(&cf.user, "user", "", "user name (default: from the URL)")
	fs.StringVar(&cf.passwordFile, "password-file", "", "read the password from the first line of this file (else $LETTERBOX_PASSWORD, the account's password_command, ~/.netrc, a prompt)")
	fs.StringVar(&cf.tlsMode, "tls", "", "implicit, starttls or none (default: imaps/pop3s implicit, imap/pop3 starttls)")
	fs.StringVar(&cf.ca, "ca", "", "trust the certificates in this PEM file (e.g. DATA/tls/cert.pem)")
	fs.StringVar(&cf.serverName, "servername", "", "name to verify the server certificate against (default: the URL host)")
	fs.BoolVar(&cf.insecure, "insecure", false, "do not verify the server certificate")
	fs.DurationVar(&cf.timeout, "timeout", mailclient.DefaultTimeout, "connect and login timeout")
	moreConnectionFlags(fs, cf)
}

// clientValueFlags are the flags, of any verb, that take a value: findVerb
// skips their values when looking for the verb.
var clientValueFlags = map[string]bool{
	"url": true, "user": true, "password-file": true, "tls": true, "ca": true, "servername": true, "timeout": true,
	"data": true, "config": true,
	"mailbox": true, "limit": true, "subject": true, "from": true, "out": true, "state": true, "to": true,
	"maildir": true, "keyword": true,
	"account": true, "fingerprint": true, "smtp-url": true, "cc": true, "bcc": true, "attach": true,
	"attachment": true, "sent": true,
}

func runClient(e *env, args []string) error {
	verbIdx := findVerb(args)
	if verbIdx < 0 {
		if hasHelp(args) {
			printClientUsage(e.stdout)
			return flag.ErrHelp
		}
		return usagef("missing verb (one of %s)", verbNames())
	}
	name := args[verbIdx]
	var v *clientVerb
	for _, cv := range clientVerbs {
		if cv.name == name {
			v = cv
		}
	}
	if v == nil {
		return usagef("unknown verb %q (one of %s)", name, verbNames())
	}
	fs, _ := newFlagSet(e, "client "+v.name)
	cf := &clientFlags{}
	connectionFlags(fs, cf)
	if v.flags != nil {
		v.flags(fs, cf)
	}
	rest := append(append([]string{}, args[:verbIdx]...), args[verbIdx+1:]...)
	pos, err := parseArgs(e, fs, rest)
	if err != nil {
		return err
	}
	if err := v.check(cf, pos); err != nil {
		return err
	}
	if cf.json && !v.json {
		return usagef("%s has no --json output (the listing verbs have: list, search, unread, mailboxes, read, accounts)", v.name)
	}
	if v.offline != nil {
		return v.offline(e, cf, pos)
	}
	setup, err := cf.setup(e)
	if err != nil {
		return err
	}
	if v.own != nil {
		return v.own(e, setup, cf, pos)
	}
	c, err := setup.dial(e)
	if err != nil {
		return err
	}
	err = v.run(e, c, cf, pos)
	// Close is LOGOUT or QUIT; for POP3 it is what commits DELE.
	if cerr := c.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("closing the session: %w", cerr)
	}
	return err
}

// check validates the arguments before connecting, so a typo costs no
// login.
func (v *clientVerb) check(cf *clientFlags, pos []string) error {
	if v.args != nil {
		return v.args(cf, pos)
	}
	switch v.name {
	case "read":
		if len(pos) != 1 {
			return usagef("want one message id")
		}
	case "delete", "move", "flag":
		if len(pos) == 0 {
			return usagef("want at least one message id")
		}
	case "sync":
		if len(pos) > 1 || (len(pos) == 1) == (cf.maildir != "") {
			return usagef("give the Maildir root (letterbox client sync ~/Mail) or --maildir DIR, not both")
		}
	default:
		if len(pos) != 0 {
			return usagef("unexpected argument %q", pos[0])
		}
	}
	switch {
	case v.name == "unread" && cf.out == "":
		return usagef("--out DIR is required")
	case v.name == "move" && cf.to == "":
		return usagef("--to MAILBOX is required")
	case v.name == "flag" && len(cf.flagList()) == 0:
		return usagef("say which flags: --seen, --flagged, --answered or --keyword K")
	case v.name == "list" && cf.limit < 0:
		return usagef("--limit must not be negative")
	}
	return nil
}

// findVerb returns the index of the first argument that is neither a flag
// nor a flag's value, or -1.
func findVerb(args []string) int {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			if i+1 < len(args) {
				return i + 1
			}
			return -1
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			return i
		}
		name := strings.TrimLeft(a, "-")
		if !strings.Contains(name, "=") && clientValueFlags[name] {
			i++ // skip the value
		}
	}
	return -1
}

func hasHelp(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			return true
		}
	}
	return false
}

func verbNames() string {
	names := make([]string, len(clientVerbs))
	for i, v := range clientVerbs {
		names[i] = v.name
	}
	return strings.Join(names, ", ")
}

func printClientUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: letterbox client [connection flags] <verb> [flags] [arguments]")
	fmt.Fprintln(w, "\nverbs:")
	for _, v := range clientVerbs {
		fmt.Fprintf(w, "  %-76s %s\n", strings.TrimSpace(v.name+" "+v.usage), v.summary)
	}
	fmt.Fprintln(w, "\nconnection flags:")
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	connectionFlags(fs, &clientFlags{})
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintln(w, "\nMessage ids: IMAP UIDs; POP3 message numbers or uidl:ID (as `list` shows them).")
}

func (cf *clientFlags) flagList() []string {
	var fl []string
	if cf.seen {
		fl = append(fl, `\Seen`)
	}
	if cf.flagged {
		fl = append(fl, `\Flagged`)
	}
	if cf.answered {
		fl = append(fl, `\Answered`)
	}
	if cf.keyword != "" {
		fl = append(fl, cf.keyword)
	}
	return fl
}

func clientList(e *env, c mailclient.Client, cf *clientFlags, _ []string) error {
	sums, err := c.List(e.ctx, cf.mailbox, cf.limit)
	if err != nil {
		return err
	}
	if cf.json {
		return writeJSON(e.stdout, summariesJSON(c.Protocol(), cf.mailbox, sums))
	}
	return writeSummaries(e.stdout, c.Protocol(), sums)
}

func clientRead(e *env, c mailclient.Client, cf *clientFlags, pos []string) error {
	raw, err := c.Fetch(e.ctx, cf.mailbox, pos[0], !cf.peek)
	if err != nil {
		return err
	}
	if cf.raw && !cf.json {
		_, err = e.stdout.Write(raw)
		return err
	}
	return showMessage(e, cf, pos[0], raw)
}

func clientSearch(e *env, c mailclient.Client, cf *clientFlags, _ []string) error {
	sums, err := c.Search(e.ctx, cf.mailbox, mailclient.Query{Subject: cf.subject, From: cf.from, Unseen: cf.unseen, StateFile: cf.state})
	if err != nil {
		return err
	}
	if cf.json {
		return writeJSON(e.stdout, summariesJSON(c.Protocol(), cf.mailbox, sums))
	}
	return writeSummaries(e.stdout, c.Protocol(), sums)
}

func clientUnread(e *env, c mailclient.Client, cf *clientFlags, _ []string) error {
	if err := os.MkdirAll(cf.out, 0o700); err != nil {
		return err
	}
	state := cf.state
	if state == "" && c.Protocol() == mailclient.POP3 {
		state = filepath.Join(cf.out, pop3StateFile)
	}
	prog := newProgress(e, "unread")
	out := unreadJSON{Protocol: c.Protocol().String(), Mailbox: mailboxName(c.Protocol(), cf.mailbox), Messages: []messageJSON{}}
	n, err := c.FetchUnread(e.ctx, cf.mailbox, mailclient.UnreadOptions{StateFile: state, KeepUnseen: cf.keepUnseen, Start: prog.SetTotal},
		func(m mailclient.Message) error {
			path, err := saveMessage(cf.out, m)
			if err != nil {
				return err
			}
			defer prog.Add(int64(len(m.Raw)))
			if cf.json {
				mj := summaryJSON(c.Protocol(), m.Summary)
				mj.Path = path
				out.Messages = append(out.Messages, mj)
				return nil
			}
			prog.Clear()
			fmt.Fprintf(e.stdout, "%s\t%s\n", path, clean(m.Subject, 60))
			return nil
		})
	prog.Finish()
	if cf.json {
		out.Downloaded = n
		if jerr := writeJSON(e.stdout, out); err == nil {
			err = jerr
		}
		return err
	}
	fmt.Fprintf(e.stdout, "%d message(s) downloaded\n", n)
	return err
}

// saveMessage writes m as DIR/uid-N.eml (IMAP) or DIR/uidl-X.eml (POP3),
// never overwriting a file: a taken name gets a -2, -3... suffix.
func saveMessage(dir string, m mailclient.Message) (string, error) {
	base := "uid-" + m.ID
	if m.UIDL != "" {
		base = "uidl-" + safeFileName(m.UIDL)
	}
	for i := 1; ; i++ {
		name := base + ".eml"
		if i > 1 {
			name = base + "-" + strconv.Itoa(i) + ".eml"
		}
		path := filepath.Join(dir, name)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		_, err = f.Write(m.Raw)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return "", err
		}
		return path, nil
	}
}

// safeFileName keeps letters, digits, '-', '_' and '.' of a UIDL (which
// may hold any printable ASCII, RFC 1939 §7).
func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' || r == '.') {
			return r
		}
		return '_'
	}, s)
}

func clientDelete(e *env, c mailclient.Client, cf *clientFlags, pos []string) error {
	if err := c.Delete(e.ctx, cf.mailbox, pos); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "deleted %d message(s)\n", len(pos))
	return nil
}

func clientMove(e *env, c mailclient.Client, cf *clientFlags, pos []string) error {
	if err := c.Move(e.ctx, cf.mailbox, pos, cf.to); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "moved %d message(s) to %s\n", len(pos), cf.to)
	return nil
}

func clientFlag(e *env, c mailclient.Client, cf *clientFlags, pos []string) error {
	fl := cf.flagList()
	op, sign := c.Flag, "+"
	if cf.unset {
		op, sign = c.Unflag, "-"
	}
	if err := op(e.ctx, cf.mailbox, pos, fl); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d message(s): %s%s\n", len(pos), sign, strings.Join(fl, " "+sign))
	return nil
}

func clientMailboxes(e *env, c mailclient.Client, cf *clientFlags, _ []string) error {
	boxes, err := c.Mailboxes(e.ctx)
	if err != nil {
		return err
	}
	subscribed, err := subscriptions(e, c)
	if err != nil {
		return err
	}
	if cf.json {
		return writeJSON(e.stdout, mailboxesJSON(boxes, subscribed))
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MAILBOX\tMESSAGES\tUNSEEN\tSUBSCRIBED\tATTRIBUTES")
	for _, b := range boxes {
		msgs, unseen := "-", "-"
		if b.Messages >= 0 {
			msgs, unseen = strconv.Itoa(b.Messages), strconv.Itoa(b.Unseen)
		}
		sub := "-" // unknown
		switch {
		case subscribed[b.Name]:
			sub = "yes"
		case subscribed != nil:
			sub = "no"
		}
		attrs := strings.Join(b.Attrs, " ")
		if attrs == "" {
			attrs = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", clean(b.Name, 60), msgs, unseen, sub, attrs)
	}
	return tw.Flush()
}

// clientSync is `sync ROOT` (every folder, two-way; see client_sync.go)
// or `sync --maildir DIR` (one mailbox with DIR itself).
func clientSync(e *env, c mailclient.Client, cf *clientFlags, pos []string) error {
	if len(pos) == 1 {
		return syncTree(e, c, cf.mailbox, pos[0])
	}
	rep, err := c.Sync(e.ctx, cf.mailbox, cf.maildir)
	writeSyncReport(e.stdout, rep)
	return err
}

// writeSummaries prints a listing: ID, (POP3: UIDL,) DATE, (IMAP: FLAGS
// as Maildir letters,) SIZE, FROM, SUBJECT.
func writeSummaries(w io.Writer, p mailclient.Protocol, sums []mailclient.Summary) error {
	if len(sums) == 0 {
		_, err := fmt.Fprintln(w, "no messages")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if p == mailclient.POP3 {
		fmt.Fprintln(tw, "ID\tUIDL\tDATE\tSIZE\tFROM\tSUBJECT")
	} else {
		fmt.Fprintln(tw, "UID\tDATE\tFLAGS\tSIZE\tFROM\tSUBJECT")
	}
	for _, s := range sums {
		date := "-"
		if !s.Date.IsZero() {
			date = s.Date.Local().Format("2006-01-02 15:04")
		}
		if p == mailclient.POP3 {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", s.ID, clean(s.UIDL, 24), date, s.Size, clean(s.From, 32), clean(s.Subject, 60))
			continue
		}
		flags := mailclient.FlagLetters(s.Flags)
		if flags == "" {
			flags = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", s.ID, date, flags, s.Size, clean(s.From, 32), clean(s.Subject, 60))
	}
	return tw.Flush()
}

// clean makes header text safe for a terminal table: control characters
// (escape sequences, tabs, line breaks) become spaces or '?', and long
// text is cut to max runes with an ellipsis.
func clean(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case unicode.IsControl(r) || r == utf8.RuneError:
			return '?'
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max-1]) + "…"
	}
	if s == "" {
		return "-"
	}
	return s
}
