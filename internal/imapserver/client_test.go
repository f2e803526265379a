package imapserver_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// goClient logs in with go-imap v2's imapclient, an independent
// implementation of the client side.
func (h *harness) goClient(handler *imapclient.UnilateralDataHandler) *imapclient.Client {
	h.t.Helper()
	c, err := imapclient.DialInsecure(h.addr, &imapclient.Options{UnilateralDataHandler: handler})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { c.Close() })
	if err := c.Login(testUser, testPass).Wait(); err != nil {
		h.t.Fatal(err)
	}
	return c
}

func TestGoIMAPClient(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1)
	h.deliver("INBOX", multipartMsg)
	c := h.goClient(nil)

	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 2 || sel.UIDNext != 3 || sel.UIDValidity == 0 {
		t.Fatalf("select: %+v", sel)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1, 2), &imap.FetchOptions{
		UID: true, Flags: true, Envelope: true, RFC822Size: true, InternalDate: true,
		BodyStructure: &imap.FetchItemBodyStructure{Extended: true},
		BodySection:   []*imap.FetchItemBodySection{{Peek: true}},
	}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Envelope.Subject != "Hello there" || msgs[0].Envelope.From[0].Addr() != "bob@example.org" {
		t.Fatalf("fetch 1: %+v", msgs[0])
	}
	body := msgs[0].FindBodySection(&imap.FetchItemBodySection{})
	if string(body) != msg1 || msgs[0].RFC822Size != int64(len(msg1)) {
		t.Fatalf("body: %q", body)
	}
	mp, ok := msgs[1].BodyStructure.(*imap.BodyStructureMultiPart)
	if !ok || mp.Subtype != "mixed" || len(mp.Children) != 2 {
		t.Fatalf("bodystructure: %#v", msgs[1].BodyStructure)
	}

	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	sd, err := c.Search(&imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got := sd.AllSeqNums(); len(got) != 1 || got[0] != 1 {
		t.Fatalf("search flagged: %v", got)
	}
	sd, err = c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "grüße"}}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if got := sd.AllUIDs(); len(got) != 1 || got[0] != 2 {
		t.Fatalf("search subject: %v", got)
	}

	extra := "Subject: appended\r\n\r\nbody\r\n"
	ac := c.Append("Archive", int64(len(extra)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}})
	ac.Write([]byte(extra))
	ac.Close()
	ad, err := ac.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if ad.UID != 1 {
		t.Fatalf("append: %+v", ad)
	}
	cd, err := c.Copy(imap.SeqSetNum(1), "Archive").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if cd.DestUIDs.String() != "2" {
		t.Fatalf("copy: %+v", cd)
	}
	md, err := c.Move(imap.SeqSetNum(2), "Trash").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if md.SourceUIDs.String() != "2" {
		t.Fatalf("move: %+v", md)
	}
	st, err := c.Status("Archive", &imap.StatusOptions{NumMessages: true, Size: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if *st.NumMessages != 2 || st.Size == nil || *st.Size == 0 {
		t.Fatalf("status: %+v", st)
	}
	list, err := c.List("", "*", &imap.ListOptions{ReturnStatus: &imap.StatusOptions{NumMessages: true}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 6 {
		t.Fatalf("list: %d mailboxes", len(list))
	}
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Expunge().Collect(); err != nil {
		t.Fatal(err)
	}
	if n := c.Mailbox().NumMessages; n != 0 {
		t.Fatalf("after expunge the client counts %d messages", n)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestGoIMAPClientIdle(t *testing.T) {
	h := newHarness(t)
	exists := make(chan uint32, 10)
	c := h.goClient(&imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				exists <- *d.NumMessages
			}
		},
	})
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		h.deliver("INBOX", msg1)
	}()
	select {
	case n := <-exists:
		if n != 1 {
			t.Fatalf("EXISTS %d", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("IDLE did not see the delivery")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestGoIMAPClientCondstore(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1)
	h.deliver("INBOX", msg1)
	flags := make(chan string, 10)
	c := h.goClient(nil)
	other := h.goClient(&imapclient.UnilateralDataHandler{
		Fetch: func(msg *imapclient.FetchMessageData) {
			buf, err := msg.Collect()
			if err == nil {
				var fl []string
				for _, f := range buf.Flags {
					fl = append(fl, string(f))
				}
				flags <- strings.Join(fl, " ")
			}
		},
	})
	sel, err := c.Select("INBOX", &imap.SelectOptions{CondStore: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.HighestModSeq == 0 {
		t.Fatal("no HIGHESTMODSEQ")
	}
	if _, err := other.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagAnswered}}, &imap.StoreOptions{UnchangedSince: sel.HighestModSeq}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].ModSeq <= sel.HighestModSeq {
		t.Fatalf("store: %+v", msgs)
	}
	// The conditional store with the old MODSEQ now fails for message 1.
	err = c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDraft}}, &imap.StoreOptions{UnchangedSince: sel.HighestModSeq}).Close()
	if err != nil {
		t.Fatal(err)
	}
	changed, err := c.Fetch(imap.SeqSetNum(1, 2), &imap.FetchOptions{Flags: true, ChangedSince: sel.HighestModSeq}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 1 || changed[0].SeqNum != 1 || !slices.Contains(changed[0].Flags, imap.FlagAnswered) || slices.Contains(changed[0].Flags, imap.FlagDraft) {
		t.Fatalf("changedsince: %d messages, first %+v", len(changed), changed[0])
	}
	// The other session hears of the change at its next command.
	deadline := time.After(10 * time.Second)
	for {
		if err := other.Noop().Wait(); err != nil {
			t.Fatal(err)
		}
		select {
		case f := <-flags:
			if !strings.Contains(f, `\Answered`) {
				t.Fatalf("flags %q", f)
			}
			return
		case <-deadline:
			t.Fatal("flag change never reached the other session")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// go-imap v2 sends raw UTF-8 mailbox names (with "&" as "&-") to a server
// that advertises IMAP4rev2, without ENABLE; names must still round-trip.
func TestGoIMAPClientUTF8MailboxNames(t *testing.T) {
	h := newHarness(t)
	c := h.goClient(nil)
	const name = "Entwürfe & Co/Übersicht"
	if err := c.Create(name, nil).Wait(); err != nil {
		t.Fatal(err)
	}
	list, err := c.List("", "Entw*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range list {
		names = append(names, l.Mailbox)
	}
	if !slices.Contains(names, name) || !slices.Contains(names, "Entwürfe & Co") {
		t.Fatalf("LIST Entw* = %q, want %q and its parent", names, name)
	}
	msg := "Subject: umlaut\r\n\r\nbody\r\n"
	ac := c.Append(name, int64(len(msg)), nil)
	ac.Write([]byte(msg))
	ac.Close()
	if _, err := ac.Wait(); err != nil {
		t.Fatal(err)
	}
	sel, err := c.Select(name, nil).Wait()
	if err != nil || sel.NumMessages != 1 {
		t.Fatalf("SELECT %q: %+v, %v", name, sel, err)
	}
}
