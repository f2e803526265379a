package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/letterbox/letterbox/internal/mailclient"
)

// The verbs of reading attachments, managing folders and sending mail.
func init() {
	clientVerbs = append(clientVerbs,
		&clientVerb{name: "accounts", summary: "list the accounts of the accounts file (no connection)",
			args: wantArgs(0, ""), offline: clientAccounts, json: true},
		&clientVerb{name: "save", usage: "ID --to DIR [--attachment N] [--mailbox M]", summary: "save a message's attachments (all, or number N of `read`)",
			flags: func(fs *flag.FlagSet, cf *clientFlags) {
				mailboxFlag(fs, cf)
				fs.StringVar(&cf.saveDir, "to", "", "directory to write the files into")
				fs.IntVar(&cf.attachment, "attachment", 0, "only attachment N (as `read` numbers them)")
			},
			args: func(cf *clientFlags, pos []string) error {
				if len(pos) != 1 {
					return usagef("want one message id")
				}
				if cf.saveDir == "" {
					return usagef("--to DIR is required")
				}
				if cf.attachment < 0 {
					return usagef("--attachment must be positive")
				}
				return nil
			},
			run: clientSave},
		&clientVerb{name: "mkdir", usage: "NAME", summary: "create a folder (IMAP)", args: wantArgs(1, "a folder name"), run: folderVerb("created")},
		&clientVerb{name: "rmdir", usage: "NAME", summary: "delete a folder and the messages in it (IMAP)", args: wantArgs(1, "a folder name"), run: folderVerb("deleted")},
		&clientVerb{name: "rename", usage: "OLD NEW", summary: "rename a folder (IMAP)", args: wantArgs(2, "the old and the new folder name"), run: folderVerb("renamed")},
		&clientVerb{name: "subscribe", usage: "NAME", summary: "subscribe to a folder (IMAP)", args: wantArgs(1, "a folder name"), run: folderVerb("subscribed to")},
		&clientVerb{name: "unsubscribe", usage: "NAME", summary: "unsubscribe from a folder (IMAP)", args: wantArgs(1, "a folder name"), run: folderVerb("unsubscribed from")},
		&clientVerb{name: "send", usage: "[--to A] [--cc A] [--bcc A] [--subject S] [--attach FILE]... [--edit]", summary: "write a message in $EDITOR (or read it on stdin) and send it",
			flags: func(fs *flag.FlagSet, cf *clientFlags) { composeFlags(fs, cf, true) },
			args:  wantArgs(0, ""), own: clientSend},
		&clientVerb{name: "reply", usage: "ID [--all] [--mailbox M] [--edit]", summary: "reply to a message, quoting it (stdin: the reply text)",
			flags: func(fs *flag.FlagSet, cf *clientFlags) {
				mailboxFlag(fs, cf)
				composeFlags(fs, cf, false)
				fs.BoolVar(&cf.all, "all", false, "reply to all recipients")
			},
			args: wantArgs(1, "a message id"), own: clientReplyForward(false)},
		&clientVerb{name: "forward", usage: "ID --to A [--mailbox M] [--edit]", summary: "forward a message with its attachments (stdin: a note)",
			flags: func(fs *flag.FlagSet, cf *clientFlags) {
				mailboxFlag(fs, cf)
				composeFlags(fs, cf, true)
			},
			args: wantArgs(1, "a message id"), own: clientReplyForward(true)},
	)
}

func wantArgs(n int, what string) func(*clientFlags, []string) error {
	return func(_ *clientFlags, pos []string) error {
		switch {
		case len(pos) == n:
			return nil
		case n == 0:
			return usagef("unexpected argument %q", pos[0])
		}
		return usagef("want %s", what)
	}
}

func composeFlags(fs *flag.FlagSet, cf *clientFlags, withTo bool) {
	if withTo {
		fs.StringVar(&cf.rcptTo, "to", "", "recipients, e.g. \"Bob <bob@example.com>, carol@example.org\"")
	}
	fs.StringVar(&cf.cc, "cc", "", "Cc recipients")
	fs.StringVar(&cf.bcc, "bcc", "", "Bcc recipients (not shown in the message)")
	fs.StringVar(&cf.subject, "subject", "", "subject")
	fs.StringVar(&cf.fromAddr, "from", "", "sender (default: the account's from, else the user name)")
	fs.Var(&cf.attach, "attach", "attach a file (repeat for more)")
	fs.BoolVar(&cf.edit, "edit", false, "open $EDITOR even when stdin is not a terminal")
	fs.StringVar(&cf.sentFolder, "sent", "", "folder for the copy (default: the account's sent, else the \\Sent folder, else Sent)")
}

// --- save ---

func clientSave(e *env, c mailclient.Client, cf *clientFlags, pos []string) error {
	raw, err := c.Fetch(e.ctx, cf.mailbox, pos[0], false)
	if err != nil {
		return err
	}
	r := mailclient.Render(raw)
	list := r.Attachments
	if cf.attachment > 0 {
		a, err := r.Attachment(cf.attachment)
		if err != nil {
			return err
		}
		list = []mailclient.Attachment{a}
	}
	if len(list) == 0 {
		return fmt.Errorf("message %s has no attachments (`read %s` shows its text)", pos[0], pos[0])
	}
	if err := os.MkdirAll(cf.saveDir, 0o700); err != nil {
		return err
	}
	prog := newProgress(e, "save")
	prog.Unit = "attachments"
	var total int64
	for _, a := range list {
		total += a.Size
	}
	prog.SetTotal(len(list), total)
	for _, a := range list {
		data, err := r.AttachmentData(a)
		if err != nil {
			return err
		}
		path, err := writeNewFile(cf.saveDir, safeAttachmentName(a), data)
		if err != nil {
			return err
		}
		prog.Clear()
		fmt.Fprintf(e.stdout, "%s\t%s\t%d\n", path, a.Type, len(data))
		prog.Add(int64(len(data)))
	}
	prog.Finish()
	return nil
}

// maxNameBytes keeps file names well under the 255-byte limit of common
// file systems, with room for a "-N" suffix.
const maxNameBytes = 200

// safeAttachmentName makes a file name from an attachment's suggested
// name, which comes from the sender and may be hostile: only its last path
// element is kept ("../../.bashrc" → "bashrc", "C:\evil\x.exe" → "x.exe"),
// control characters and path separators become '_', leading dots and
// spaces go (no hidden files, no "." or ".."), and it is cut to
// maxNameBytes keeping the extension. No name: attachment-N with an
// extension from the media type.
func safeAttachmentName(a mailclient.Attachment) string {
	name := strings.ReplaceAll(a.Name, "\\", "/")
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r == utf8.RuneError, unicode.IsControl(r), r == '/', r == ':', r == 0:
			return '_'
		case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069': // bidi overrides hide the real extension
			return -1
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ". ")
	name = strings.TrimRight(name, ". ")
	if name == "" {
		name = fmt.Sprintf("attachment-%d%s", a.Index, extensionFor(a.Type))
	}
	if len(name) > maxNameBytes {
		ext := filepath.Ext(name)
		if len(ext) > 20 {
			ext = ""
		}
		base := name[:maxNameBytes-len(ext)]
		for !utf8.ValidString(base) {
			base = base[:len(base)-1]
		}
		name = base + ext
	}
	return name
}

func extensionFor(mediaType string) string {
	switch mediaType {
	case "message/rfc822":
		return ".eml"
	case "text/plain":
		return ".txt"
	case "text/html":
		return ".html"
	case "application/pdf":
		return ".pdf"
	case "image/png":
		return ".png"
	case "image/jpeg":
		return ".jpg"
	}
	return ".bin"
}

// writeNewFile writes data to DIR/name, never over an existing file: a
// taken name becomes name-1.ext, name-2.ext, ... (O_EXCL, so a file made
// meanwhile is not overwritten either).
func writeNewFile(dir, name string, data []byte) (string, error) {
	ext := filepath.Ext(name)
	base := strings.TrimSuffix(name, ext)
	if base == "" {
		base, ext = name, ""
	}
	for i := 0; i < 10000; i++ {
		n := name
		if i > 0 {
			n = base + "-" + strconv.Itoa(i) + ext
		}
		path := filepath.Join(dir, n)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return "", err
		}
		return path, nil
	}
	return "", fmt.Errorf("%s: too many files named like %s", dir, name)
}

// --- folders ---

func folderVerb(done string) func(e *env, c mailclient.Client, cf *clientFlags, pos []string) error {
	return func(e *env, c mailclient.Client, cf *clientFlags, pos []string) error {
		f, err := mailclient.FoldersOf(c)
		if err != nil {
			return err
		}
		switch done {
		case "created":
			err = f.CreateMailbox(e.ctx, pos[0])
		case "deleted":
			err = f.DeleteMailbox(e.ctx, pos[0])
		case "renamed":
			err = f.RenameMailbox(e.ctx, pos[0], pos[1])
		case "subscribed to":
			err = f.Subscribe(e.ctx, pos[0])
		default:
			err = f.Unsubscribe(e.ctx, pos[0])
		}
		if err != nil {
			return err
		}
		if len(pos) == 2 {
			fmt.Fprintf(e.stdout, "%s %s to %s\n", done, pos[0], pos[1])
		} else {
			fmt.Fprintf(e.stdout, "%s %s\n", done, pos[0])
		}
		return nil
	}
}

// --- sending ---

// useEditor: compose in $EDITOR when stdin is a terminal or --edit says so;
// otherwise stdin holds the message (send) or the text (reply, forward).
func useEditor(e *env, cf *clientFlags) bool {
	if cf.edit {
		return true
	}
	f, ok := e.stdin.(*os.File)
	return ok && isTerminal(f)
}

// editDraft opens the template in $VISUAL or $EDITOR (else vi) and reads
// it back. An unchanged template aborts.
func editDraft(e *env, d mailclient.Draft) (mailclient.Draft, string, error) {
	f, err := os.CreateTemp("", "letterbox-draft-*.eml")
	if err != nil {
		return d, "", err
	}
	path := f.Name()
	tmpl := d.Template()
	_, err = f.WriteString(tmpl)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return d, "", err
	}
	editor := first(e.getenv("VISUAL"), e.getenv("EDITOR"), "vi")
	cmd := exec.CommandContext(e.ctx, "sh", "-c", editor+` "$1"`, "sh", path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if sf, ok := e.stdin.(*os.File); ok {
		cmd.Stdin = sf
	}
	if err := cmd.Run(); err != nil {
		return d, path, fmt.Errorf("editor %q: %w (the draft is in %s)", editor, err, path)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return d, path, err
	}
	if string(text) == tmpl {
		os.Remove(path)
		return d, "", errors.New("message not sent: the draft was not changed")
	}
	nd, err := mailclient.ParseDraft(text)
	if err != nil {
		return d, path, fmt.Errorf("%w (the draft is in %s)", err, path)
	}
	nd.InReplyTo, nd.References, nd.Attachments = d.InReplyTo, d.References, d.Attachments
	return nd, path, nil
}

// applyFlags puts the --to/--cc/--bcc/--subject/--attach values into d.
func applyFlags(d *mailclient.Draft, cf *clientFlags) error {
	if cf.rcptTo != "" {
		d.To = cf.rcptTo
	}
	if cf.cc != "" {
		d.Cc = cf.cc
	}
	if cf.bcc != "" {
		d.Bcc = cf.bcc
	}
	if cf.subject != "" {
		d.Subject = cf.subject
	}
	for _, p := range cf.attach {
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("--attach: %w", err)
		}
		d.Attachments = append(d.Attachments, mailclient.FileAttachment{Name: filepath.Base(p), Data: data})
	}
	return nil
}

func clientSend(e *env, s *clientSetup, cf *clientFlags, _ []string) error {
	d := mailclient.Draft{From: s.from}
	if err := applyFlags(&d, cf); err != nil {
		return err
	}
	draftPath := ""
	if useEditor(e, cf) {
		var err error
		if d, draftPath, err = editDraft(e, d); err != nil {
			return err
		}
	} else {
		text, err := io.ReadAll(io.LimitReader(e.stdin, maxComposeSize+1))
		if err != nil {
			return err
		}
		if len(text) > maxComposeSize {
			return fmt.Errorf("the message on stdin is larger than %d bytes", maxComposeSize)
		}
		in, err := mailclient.ParseDraft(text)
		if err != nil {
			return err
		}
		in.From = first(in.From, s.from)
		if in.Raw != nil && len(cf.attach) > 0 {
			return usagef("--attach cannot be added to a finished MIME message on stdin")
		}
		d = in
		if err := applyFlags(&d, cf); err != nil {
			return err
		}
	}
	return submitDraft(e, s, cf, d, draftPath, nil)
}

// maxComposeSize bounds a message read on stdin.
const maxComposeSize = 64 << 20

// submitDraft builds, submits and keeps a copy in Sent; after is run on
// the IMAP session that stored the copy (a reply marks the original
// \Answered).
func submitDraft(e *env, s *clientSetup, cf *clientFlags, d mailclient.Draft, draftPath string, after func(mailclient.Client) error) error {
	if d.From == "" {
		d.From = s.from
	}
	b, err := d.Build(time.Now())
	if err == nil {
		err = mailclient.Submit(e.ctx, s.smtp, b.From, b.Rcpts, b.Raw)
	}
	if err != nil {
		if draftPath != "" {
			return fmt.Errorf("%w\nmessage not sent; the draft is in %s", err, draftPath)
		}
		return err
	}
	if draftPath != "" {
		os.Remove(draftPath)
	}
	fmt.Fprintf(e.stdout, "sent to %s (Message-ID <%s>)\n", strings.Join(b.Rcpts, ", "), b.MessageID)
	if s.cfg.Protocol == mailclient.POP3 {
		fmt.Fprintln(e.stdout, "no copy kept: a POP3 account has no Sent folder")
		return nil
	}
	c, err := s.dial(e)
	if err != nil {
		return fmt.Errorf("the message was sent, but keeping the copy failed: %w", err)
	}
	app, ok := c.(mailclient.Appender)
	if !ok {
		c.Close()
		fmt.Fprintf(e.stdout, "no copy kept: %s cannot store messages\n", s.cfg.Protocol)
		return nil
	}
	folder, err := app.AppendSent(e.ctx, first(cf.sentFolder, s.account.Sent), b.Raw)
	if err == nil && after != nil {
		err = after(c)
	}
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("the message was sent, but: %w", err)
	}
	fmt.Fprintf(e.stdout, "copy saved in %s\n", folder)
	return nil
}

func clientReplyForward(forward bool) func(e *env, s *clientSetup, cf *clientFlags, pos []string) error {
	return func(e *env, s *clientSetup, cf *clientFlags, pos []string) error {
		c, err := s.dial(e)
		if err != nil {
			return err
		}
		raw, err := c.Fetch(e.ctx, cf.mailbox, pos[0], false)
		if cerr := c.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		orig := mailclient.Render(raw)
		from := first(cf.fromAddr, s.from)
		var d mailclient.Draft
		if forward {
			if d, err = mailclient.ForwardDraft(orig, from); err != nil {
				return err
			}
		} else {
			d = mailclient.ReplyDraft(orig, from, cf.all)
		}
		if err := applyFlags(&d, cf); err != nil {
			return err
		}
		draftPath := ""
		if useEditor(e, cf) {
			if d, draftPath, err = editDraft(e, d); err != nil {
				return err
			}
		} else {
			text, err := io.ReadAll(io.LimitReader(e.stdin, maxComposeSize+1))
			if err != nil {
				return err
			}
			if len(text) > maxComposeSize {
				return fmt.Errorf("the text on stdin is larger than %d bytes", maxComposeSize)
			}
			note := strings.TrimRight(strings.ReplaceAll(string(text), "\r\n", "\n"), "\n")
			d.Body = note + "\n" + d.Body
		}
		var after func(mailclient.Client) error
		if !forward && s.cfg.Protocol == mailclient.IMAP {
			// Mark the original answered, as mail readers do (RFC 3501
			// §2.3.2 \Answered).
			after = func(c mailclient.Client) error {
				if app, ok := c.(mailclient.Appender); ok {
					return app.AddFlags(e.ctx, cf.mailbox, pos[0], `\Answered`)
				}
				return nil
			}
		}
		return submitDraft(e, s, cf, d, draftPath, after)
	}
}

// --- accounts ---

// accountJSON is one account of `accounts --json`.
type accountJSON struct {
	Name     string `json:"name"`
	Default  bool   `json:"default"`
	URL      string `json:"url"`
	User     string `json:"user"`
	SMTPURL  string `json:"smtp_url"`
	Password string `json:"password"` // where it comes from, never the password
	Trust    string `json:"trust"`
}

// clientAccounts lists the accounts file: name, server, user, where the
// password comes from and how the certificate is trusted.
func clientAccounts(e *env, cf *clientFlags, _ []string) error {
	path := accountsPath(e)
	af, err := mailclient.LoadAccounts(path)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(af.Accounts))
	for n := range af.Accounts {
		names = append(names, n)
	}
	sort.Strings(names)
	def, _, _ := af.Account("")
	var out []accountJSON
	for _, n := range names {
		a := af.Accounts[n]
		aj := accountJSON{Name: n, Default: n == def.Name, URL: a.URL, User: a.User, SMTPURL: a.SMTPURL, Password: "prompt", Trust: "system roots"}
		switch {
		case a.PasswordCommand != "":
			aj.Password = "password_command"
		case a.UseNetrc():
			aj.Password = "netrc, else prompt"
		}
		switch {
		case a.Insecure:
			aj.Trust = "none (insecure)"
		case a.Fingerprint != "":
			aj.Trust = "pinned " + a.Fingerprint
		case a.CAFile != "":
			aj.Trust = "ca_file " + a.CAFile
		}
		out = append(out, aj)
	}
	if cf.json {
		if out == nil {
			out = []accountJSON{}
		}
		return writeJSON(e.stdout, map[string]any{"file": path, "accounts": out})
	}
	if len(out) == 0 {
		_, err := fmt.Fprintf(e.stdout, "no accounts in %s (see docs/CLIENT.md for an example)\n", path)
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tURL\tUSER\tPASSWORD\tTRUST")
	for _, a := range out {
		name := a.Name
		if a.Default {
			name += " (default)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, a.URL, first(a.User, "-"), a.Password, a.Trust)
	}
	return tw.Flush()
}
