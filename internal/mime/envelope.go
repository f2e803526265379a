package mime

// Envelope is the IMAP ENVELOPE of a message (RFC 3501 §7.4.2). String
// values are the raw header values, unfolded and trimmed, not RFC 2047
// decoded; "" means the header is absent (NIL). Sender and ReplyTo are
// already set to From when their header is absent or empty, as RFC 3501
// requires.
type Envelope struct {
	Date, Subject                      string
	From, Sender, ReplyTo, To, Cc, Bcc []Address
	InReplyTo, MessageID               string
}

// envelope builds the Envelope of a message from its header.
func (h *rawHeader) envelope() *Envelope {
	e := &Envelope{}
	e.Date, _ = h.get("date")
	e.Subject, _ = h.get("subject")
	e.InReplyTo, _ = h.get("in-reply-to")
	e.MessageID, _ = h.get("message-id")
	addrs := func(name string) []Address {
		v, ok := h.get(name)
		if !ok {
			return nil
		}
		return ParseAddressList(v)
	}
	e.From = addrs("from")
	e.Sender = addrs("sender")
	e.ReplyTo = addrs("reply-to")
	e.To = addrs("to")
	e.Cc = addrs("cc")
	e.Bcc = addrs("bcc")
	if len(e.Sender) == 0 {
		e.Sender = e.From
	}
	if len(e.ReplyTo) == 0 {
		e.ReplyTo = e.From
	}
	return e
}
