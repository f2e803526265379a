package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/letterbox/letterbox/internal/mailimport"
	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/sqlite"
)

// `letterbox import` and `letterbox export` (docs/IMPORT.md).

func init() {
	register(&command{name: "import", usage: "ACCOUNT SOURCE",
		summary: "import mail: a Maildir tree, an mbox file or directory, or imap[s]://user@host", run: importCmd})
	register(&command{name: "export", usage: "ACCOUNT DIR",
		summary: "write an account's mail out as Maildir (--format maildir, with UIDs) or mbox", run: exportCmd})
}

func importCmd(e *env, args []string) error {
	fs, common := newFlagSet(e, "import")
	format := fs.String("format", "", "source format: maildir, mbox or imap (default: detected)")
	mailbox := fs.String("mailbox", "", "target mailbox for a single mbox file (default INBOX)")
	batch := fs.Int("batch", 2000, "messages per transaction")
	pwFile := fs.String("password-file", "", "IMAP source: file whose first line is the password (else $LETTERBOX_IMPORT_PASSWORD, else a prompt)")
	insecure := fs.Bool("insecure", false, "IMAP source: accept any TLS certificate")
	pos, err := parseArgs(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("want ACCOUNT and SOURCE, got %d argument(s)", len(pos))
	}
	account, source := strings.ToLower(pos[0]), pos[1]
	s, err := common.resolve(e)
	if err != nil {
		return err
	}
	if *format == "" {
		*format = detectFormat(source)
	}
	var src mailimport.Source
	switch *format {
	case "imap":
		pw, err := importPassword(e, *pwFile, source)
		if err != nil {
			return err
		}
		src, err = mailimport.DialIMAP(mailimport.IMAPOptions{URL: source, Password: pw, InsecureSkipVerify: *insecure})
		if err != nil {
			return err
		}
	case "maildir":
		src, err = mailimport.OpenMaildir(source)
	case "mbox":
		src, err = mailimport.OpenMbox(source, *mailbox)
	default:
		return usagef("unknown --format %q (maildir, mbox or imap)", *format)
	}
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := s.openStore(e.ctx, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer st.Close()
	if sq, ok := st.(*sqlite.Store); ok && sq.OtherProcess() {
		return fmt.Errorf("another process (the server?) has the store in %s open: stop it, import, start it again", s.dataDir)
	}
	if _, err := st.Account(e.ctx, account); errors.Is(err, store.ErrNoSuchAccount) {
		return fmt.Errorf("no account %s (create it first: letterbox user add %s)", account, account)
	} else if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "importing %s (%s) into %s\n", source, *format, account)
	p := mailimport.NewProgress(e.stdout, isTerminalWriter(e.stdout))
	rep, err := mailimport.Run(e.ctx, src, mailimport.Options{Store: st, Account: account, Batch: *batch, Progress: p})
	if err != nil {
		return err
	}
	mps, mbps := rep.Rate()
	fmt.Fprintf(e.stdout, "imported %d messages (%.1f MB) in %s: %.0f messages/s, %.1f MB/s\n",
		rep.Messages, float64(rep.Bytes)/1e6, rep.Elapsed.Round(1e6), mps, mbps)
	return nil
}

// detectFormat: a URL is IMAP, a directory with cur/ (or a folder with
// one) is a Maildir, anything else mbox.
func detectFormat(source string) string {
	if strings.HasPrefix(source, "imap://") || strings.HasPrefix(source, "imaps://") {
		return "imap"
	}
	if st, err := os.Stat(filepath.Join(source, "cur")); err == nil && st.IsDir() {
		return "maildir"
	}
	return "mbox"
}

// importPassword: --password-file, else $LETTERBOX_IMPORT_PASSWORD, else a
// prompt on the terminal.
func importPassword(e *env, file, url string) (string, error) {
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return "", err
		}
		defer f.Close()
		line, err := bufio.NewReaderSize(io.LimitReader(f, maxPasswordLine+2), maxPasswordLine+2).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("reading %s: %w", file, err)
		}
		if pw := strings.TrimRight(line, "\r\n"); pw != "" {
			return pw, nil
		}
		return "", fmt.Errorf("%s: empty password", file)
	}
	if pw := e.getenv("LETTERBOX_IMPORT_PASSWORD"); pw != "" {
		return pw, nil
	}
	if f, ok := e.stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprintf(e.stderr, "Password for %s: ", url)
		pw, err := readNoEcho(f)
		fmt.Fprintln(e.stderr)
		return pw, err
	}
	return "", errors.New("no password: use --password-file, $LETTERBOX_IMPORT_PASSWORD or run on a terminal")
}

// isTerminalWriter reports whether w is a terminal (progress rewrites its
// line there).
func isTerminalWriter(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}

func exportCmd(e *env, args []string) error {
	fs, common := newFlagSet(e, "export")
	format := fs.String("format", mailimport.FormatMaildir, "maildir (Maildir++ with dovecot-uidlist) or mbox (mboxrd, one file per mailbox)")
	pos, err := parseArgs(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("want ACCOUNT and DIR, got %d argument(s)", len(pos))
	}
	if *format != mailimport.FormatMaildir && *format != mailimport.FormatMbox {
		return usagef("unknown --format %q (maildir or mbox)", *format)
	}
	s, err := common.resolve(e)
	if err != nil {
		return err
	}
	st, err := s.openStore(e.ctx, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer st.Close()
	account := strings.ToLower(pos[0])
	p := mailimport.NewProgress(e.stdout, isTerminalWriter(e.stdout))
	stats, err := mailimport.Export(e.ctx, st, account, *format, pos[1], p)
	if err != nil {
		if errors.Is(err, store.ErrNoSuchAccount) {
			return fmt.Errorf("no account %s", account)
		}
		return err
	}
	fmt.Fprintf(e.stdout, "exported %d messages (%.1f MB) to %s (%s)\n", stats.Messages, float64(stats.Bytes)/1e6, pos[1], *format)
	return nil
}
