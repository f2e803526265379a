package imap

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseNotify(t *testing.T) {
	tests := []struct {
		line string
		want *NotifyArgs
	}{
		{"a NOTIFY NONE", &NotifyArgs{None: true}},
		{"a notify none", &NotifyArgs{None: true}},
		{"a NOTIFY SET (selected (MessageNew MessageExpunge))", &NotifyArgs{Groups: []NotifyGroup{
			{Filter: "selected", Events: []NotifyEvent{{Name: "MessageNew"}, {Name: "MessageExpunge"}}}}}},
		{"a NOTIFY SET STATUS (Selected-Delayed (MessageNew (UID FLAGS) MessageExpunge FlagChange)) (subtree (Lists \"Other Lists\") (MessageNew MessageExpunge)) (mailboxes INBOX (messagenew messageexpunge)) (personal (MailboxName SubscriptionChange)) (inboxes NONE) (subscribed (MessageNew MessageExpunge))",
			&NotifyArgs{Status: true, Groups: []NotifyGroup{
				{Filter: "selected-delayed", Events: []NotifyEvent{{Name: "MessageNew", FetchAtts: []FetchItem{{Name: "UID"}, {Name: "FLAGS"}}}, {Name: "MessageExpunge"}, {Name: "FlagChange"}}},
				{Filter: "subtree", Mailboxes: []string{"Lists", "Other Lists"}, Events: []NotifyEvent{{Name: "MessageNew"}, {Name: "MessageExpunge"}}},
				{Filter: "mailboxes", Mailboxes: []string{"INBOX"}, Events: []NotifyEvent{{Name: "MessageNew"}, {Name: "MessageExpunge"}}},
				{Filter: "personal", Events: []NotifyEvent{{Name: "MailboxName"}, {Name: "SubscriptionChange"}}},
				{Filter: "inboxes"},
				{Filter: "subscribed", Events: []NotifyEvent{{Name: "MessageNew"}, {Name: "MessageExpunge"}}},
			}}},
		// An unknown event is well-formed (event-ext): the server says NO [BADEVENT].
		{"a NOTIFY SET (personal (MailboxName Foo))", &NotifyArgs{Groups: []NotifyGroup{
			{Filter: "personal", Events: []NotifyEvent{{Name: "MailboxName"}, {Name: "Foo"}}}}}},
		{"a NOTIFY SET (personal (AnnotationChange MessageNew MessageExpunge))", &NotifyArgs{Groups: []NotifyGroup{
			{Filter: "personal", Events: []NotifyEvent{{Name: "AnnotationChange"}, {Name: "MessageNew"}, {Name: "MessageExpunge"}}}}}},
		// The METADATA events (RFC 5465 §5.6-5.7), any case, in any
		// group but selected/selected-delayed.
		{"a NOTIFY SET (personal (MailboxMetadataChange ServerMetadataChange)) (subtree Lists (mailboxmetadatachange)) (mailboxes INBOX (SERVERMETADATACHANGE MailboxName))",
			&NotifyArgs{Groups: []NotifyGroup{
				{Filter: "personal", Events: []NotifyEvent{{Name: EventMailboxMetadataChange}, {Name: EventServerMetadataChange}}},
				{Filter: "subtree", Mailboxes: []string{"Lists"}, Events: []NotifyEvent{{Name: EventMailboxMetadataChange}}},
				{Filter: "mailboxes", Mailboxes: []string{"INBOX"}, Events: []NotifyEvent{{Name: EventServerMetadataChange}, {Name: EventMailboxName}}},
			}}},
		{"a NOTIFY SET (selected (MessageNew MessageExpunge)) (inboxes (MailboxMetadataChange MessageNew MessageExpunge))",
			&NotifyArgs{Groups: []NotifyGroup{
				{Filter: "selected", Events: []NotifyEvent{{Name: EventMessageNew}, {Name: EventMessageExpunge}}},
				{Filter: "inboxes", Events: []NotifyEvent{{Name: EventMailboxMetadataChange}, {Name: EventMessageNew}, {Name: EventMessageExpunge}}},
			}}},
		// A mailbox name in modified UTF-7.
		{"a NOTIFY SET (mailboxes Caf&AOk- (MailboxName))", &NotifyArgs{Groups: []NotifyGroup{
			{Filter: "mailboxes", Mailboxes: []string{"Café"}, Events: []NotifyEvent{{Name: "MailboxName"}}}}}},
	}
	for _, tc := range tests {
		cmd, err := parseOne(t, tc.line)
		if err != nil {
			t.Errorf("%q: %v", tc.line, err)
			continue
		}
		if cmd.Name != "NOTIFY" || !reflect.DeepEqual(cmd.Args, tc.want) {
			t.Errorf("%q:\n got %#v\nwant %#v", tc.line, cmd.Args, tc.want)
		}
	}
	// RFC 5465 §3.1's example as printed lacks the parentheses §8 puts
	// around a group's events; with them it parses and keeps its
	// fetch-atts.
	cmd, err := parseOne(t, "a notify set status (selected MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge) (subtree Lists MessageNew)")
	if err == nil {
		t.Errorf("events without parentheses parsed: %#v", cmd.Args)
	}
	cmd, err = parseOne(t, "a notify set status (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)) (subtree Lists (MessageNew MessageExpunge))")
	if err != nil {
		t.Fatal(err)
	}
	a := cmd.Args.(*NotifyArgs)
	fa := a.Groups[0].Events[0].FetchAtts
	if !a.Status || len(fa) != 2 || fa[0].Name != "UID" || fa[1].Name != "BODY" || !fa[1].Peek || fa[1].Section == nil {
		t.Errorf("fetch-atts %#v", fa)
	}
}

func TestParseNotifyBad(t *testing.T) {
	for _, line := range []string{
		"a NOTIFY",
		"a NOTIFY SET",
		"a NOTIFY ALL",
		"a NOTIFY NONE extra",
		"a NOTIFY SET STATUS",
		"a NOTIFY SET ()",
		"a NOTIFY SET (personal)",
		"a NOTIFY SET (personal ())",
		"a NOTIFY SET (everything (MailboxName))",               // unknown filter
		"a NOTIFY SET (subtree (MailboxName))",                  // subtree needs a mailbox
		"a NOTIFY SET (mailboxes () (MailboxName))",             // empty mailbox list
		"a NOTIFY SET (selected (MessageNew))",                  // §5: MessageNew needs MessageExpunge
		"a NOTIFY SET (personal (MessageExpunge))",              // and the other way round
		"a NOTIFY SET (personal (FlagChange))",                  // FlagChange needs both
		"a NOTIFY SET (personal (AnnotationChange MessageNew))", // idem
		"a NOTIFY SET (selected (MailboxName))",                 // §6.1: message events only
		"a NOTIFY SET (selected (MailboxMetadataChange))",       // idem
		"a NOTIFY SET (selected-delayed (ServerMetadataChange))",
		"a NOTIFY SET (selected (MessageNew MessageExpunge ServerMetadataChange))",
		"a NOTIFY SET (personal (MailboxMetadataChange (UID)))",                                              // fetch-atts only on MessageNew
		"a NOTIFY SET (selected (MessageNew MessageExpunge)) (selected-delayed (MessageNew MessageExpunge))", // §6.1: only one
		"a NOTIFY SET (personal (MessageExpunge (UID) MessageNew))",                                          // fetch-atts only on MessageNew
		"a NOTIFY SET (personal (MessageNew (UID BOGUS) MessageExpunge))",
		"a NOTIFY SET (personal (MailboxName)",
		"a NOTIFY SET (personal (MailboxName))  (personal NONE)",
	} {
		cmd, err := parseOne(t, line)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.NO || pe.Fatal {
			t.Errorf("%q: got %v, %v; want a BAD ParseError", line, cmd, err)
		}
	}
}
