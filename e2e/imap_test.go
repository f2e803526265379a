//go:build e2e

package e2e

import (
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// dialIMAPS connects over implicit TLS with go-imap's client and logs in.
func (s *server) dialIMAPS(t testing.TB, user, pass string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialTLS(s.addr("imaps"), &imapclient.Options{TLSConfig: s.tlsConfig()})
	if err != nil {
		t.Fatalf("IMAPS dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, pass).Wait(); err != nil {
		t.Fatalf("IMAP LOGIN %s: %v", user, err)
	}
	return c
}

// imapMessage is what the checks need from one message.
type imapMessage struct {
	uid   imap.UID
	flags []imap.Flag
	body  []byte
	subj  string
}

// fetchAll selects a mailbox and fetches UID, FLAGS, ENVELOPE and BODY.PEEK[]
// of every message.
func fetchAll(t testing.TB, c *imapclient.Client, mailbox string) []imapMessage {
	t.Helper()
	data, err := c.Select(mailbox, nil).Wait()
	if err != nil {
		t.Fatalf("SELECT %s: %v", mailbox, err)
	}
	if data.NumMessages == 0 {
		return nil
	}
	section := &imap.FetchItemBodySection{Peek: true}
	var all imap.SeqSet
	all.AddRange(1, 0) // 1:*
	msgs, err := c.Fetch(all, &imap.FetchOptions{
		UID: true, Flags: true, Envelope: true,
		BodySection: []*imap.FetchItemBodySection{section},
	}).Collect()
	if err != nil {
		t.Fatalf("FETCH 1:*: %v", err)
	}
	out := make([]imapMessage, 0, len(msgs))
	for _, m := range msgs {
		im := imapMessage{uid: m.UID, flags: m.Flags, body: m.FindBodySection(section)}
		if m.Envelope != nil {
			im.subj = m.Envelope.Subject
		}
		out = append(out, im)
	}
	return out
}
