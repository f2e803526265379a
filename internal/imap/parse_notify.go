package imap

import "strings"

// NotifyArgs: NOTIFY (RFC 5465 §3, §8).
//
//	notify          = "NOTIFY" SP (notify-set / notify-none)
//	notify-none     = "NONE"
//	notify-set      = "SET" [status-indicator] SP event-groups
//	status-indicator = SP "STATUS"
//	event-groups    = event-group *(SP event-group)
//	event-group     = "(" filter-mailboxes SP events ")"
//	events          = ( "(" event *(SP event) ")" ) / "NONE"
//
// The parser checks the grammar and the rules §5 and §6.1 make BAD
// (MessageNew and MessageExpunge together; FlagChange and AnnotationChange
// only with both; one selected/selected-delayed group, with message events
// only; a fetch-att list only on MessageNew). Whether the server supports
// an event is the server's to say (NO [BADEVENT], §3.1).
type NotifyArgs struct {
	None   bool // NOTIFY NONE
	Status bool // NOTIFY SET STATUS
	Groups []NotifyGroup
}

// NotifyGroup is one event-group: a mailbox filter and its events.
type NotifyGroup struct {
	// Filter is lower-case: selected, selected-delayed, inboxes, personal,
	// subscribed, subtree, mailboxes.
	Filter string
	// Mailboxes are the decoded names of a subtree or mailboxes filter
	// (each may be an invalid name, see IsInvalidName).
	Mailboxes []string
	// Events is empty for "NONE".
	Events []NotifyEvent
}

// NotifyEvent is one event of a group.
type NotifyEvent struct {
	// Name is the RFC spelling for the events RFC 5465 defines
	// (MessageNew, MessageExpunge, FlagChange, AnnotationChange,
	// MailboxName, SubscriptionChange, MailboxMetadataChange,
	// ServerMetadataChange); any other atom (event-ext) as sent.
	Name string
	// FetchAtts are MessageNew's fetch-atts, nil when none were given.
	FetchAtts []FetchItem
}

// Notify event names (RFC 5465 §5, §8).
const (
	EventMessageNew            = "MessageNew"
	EventMessageExpunge        = "MessageExpunge"
	EventFlagChange            = "FlagChange"
	EventAnnotationChange      = "AnnotationChange"
	EventMailboxName           = "MailboxName"
	EventSubscriptionChange    = "SubscriptionChange"
	EventMailboxMetadataChange = "MailboxMetadataChange"
	EventServerMetadataChange  = "ServerMetadataChange"
)

var notifyEventNames = map[string]string{}

func init() {
	for _, n := range []string{EventMessageNew, EventMessageExpunge, EventFlagChange, EventAnnotationChange,
		EventMailboxName, EventSubscriptionChange, EventMailboxMetadataChange, EventServerMetadataChange} {
		notifyEventNames[strings.ToUpper(n)] = n
	}
}

// IsMessageEvent reports whether name is a message-event (RFC 5465 §8).
func IsMessageEvent(name string) bool {
	switch name {
	case EventMessageNew, EventMessageExpunge, EventFlagChange, EventAnnotationChange:
		return true
	}
	return false
}

// maxNotifyGroups and maxNotifyMailboxes bound one NOTIFY command.
const (
	maxNotifyGroups    = 100
	maxNotifyMailboxes = 1000
)

func (*NotifyArgs) isArgs() {}

// parseNotify parses the NOTIFY arguments (RFC 5465 §8).
func (r *Reader) parseNotify() Args {
	r.sp()
	a := &NotifyArgs{}
	switch word := strings.ToUpper(r.atom("NONE or SET")); word {
	case "NONE":
		a.None = true
		return a
	case "SET":
	default:
		r.fail("expected NONE or SET, not %s", word)
	}
	r.sp()
	if r.keywordAhead("STATUS") {
		r.pos += len("STATUS")
		a.Status = true
		r.sp()
	}
	selected := false
	mailboxes := 0
	for {
		g := r.notifyGroup()
		if g.Filter == "selected" || g.Filter == "selected-delayed" {
			// RFC 5465 §6.1: only one of them, with message events only.
			if selected {
				r.fail("only one selected or selected-delayed filter is allowed")
			}
			selected = true
			for _, ev := range g.Events {
				if !IsMessageEvent(ev.Name) {
					r.fail("%s is not a message event and cannot be used with %s", ev.Name, g.Filter)
				}
			}
		}
		mailboxes += len(g.Mailboxes)
		a.Groups = append(a.Groups, g)
		if len(a.Groups) > maxNotifyGroups || mailboxes > maxNotifyMailboxes {
			r.fail("too many event groups or mailboxes")
		}
		if r.eol() {
			return a
		}
		r.sp()
	}
}

// notifyGroup reads one event-group.
func (r *Reader) notifyGroup() NotifyGroup {
	r.expect('(', "( starting an event group")
	g := NotifyGroup{Filter: strings.ToLower(r.run(func(c byte) bool { return isAtomChar(c) }))}
	switch g.Filter {
	case "selected", "selected-delayed", "inboxes", "personal", "subscribed":
	case "subtree", "mailboxes":
		r.sp()
		if r.peek() == '(' {
			r.pos++
			for first := true; first || r.peek() != ')'; first = false {
				if !first {
					r.sp()
				}
				g.Mailboxes = append(g.Mailboxes, r.mailboxArg())
				if len(g.Mailboxes) > maxNotifyMailboxes {
					r.fail("too many mailboxes")
				}
			}
			r.pos++
		} else {
			g.Mailboxes = []string{r.mailboxArg()}
		}
	case "":
		r.fail("expected a mailbox filter")
	default:
		r.fail("unknown mailbox filter %s", g.Filter)
	}
	r.sp()
	if r.keywordAhead("NONE") {
		r.pos += len("NONE")
	} else {
		r.expect('(', "( or NONE")
		for first := true; first || r.peek() != ')'; first = false {
			if !first {
				r.sp()
			}
			g.Events = append(g.Events, r.notifyEvent())
		}
		r.pos++
	}
	r.expect(')', ") ending an event group")
	checkNotifyEvents(r, g.Events)
	return g
}

// notifyEvent reads one event, with MessageNew's optional fetch-atts.
func (r *Reader) notifyEvent() NotifyEvent {
	word := r.atom("event")
	name, known := notifyEventNames[strings.ToUpper(word)]
	if !known {
		name = word // event-ext: the server answers NO [BADEVENT]
	}
	ev := NotifyEvent{Name: name}
	if name == EventMessageNew && r.peek() == ' ' && r.pos+1 < len(r.line) && r.line[r.pos+1] == '(' {
		r.pos += 2
		ev.FetchAtts = []FetchItem{}
		for first := true; first || r.peek() != ')'; first = false {
			if !first {
				r.sp()
			}
			ev.FetchAtts = append(ev.FetchAtts, r.fetchAtt(true))
		}
		r.pos++
	}
	return ev
}

// checkNotifyEvents applies RFC 5465 §5: MessageNew and MessageExpunge
// come together, and FlagChange and AnnotationChange need both.
func checkNotifyEvents(r *Reader, events []NotifyEvent) {
	has := map[string]bool{}
	for _, ev := range events {
		has[ev.Name] = true
	}
	if has[EventMessageNew] != has[EventMessageExpunge] {
		r.fail("MessageNew and MessageExpunge must be given together")
	}
	if (has[EventFlagChange] || has[EventAnnotationChange]) && !has[EventMessageNew] {
		r.fail("FlagChange and AnnotationChange need MessageNew and MessageExpunge")
	}
}
