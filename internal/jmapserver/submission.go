package jmapserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// EmailSubmission (RFC 8621 §7). A submission delivers the Email the way
// SMTP submission does (store.Deliver into each local recipient's INBOX,
// one blob for all; an alias counts as its account), with the Bcc field
// removed. Recipients in other domains go to the outbound queue
// (Options.Queue, durable before the answer); an unknown user of a local
// domain, or a remote one without a queue, gets invalidRecipients.
// Submissions are final at once (no delayed send); the server remembers
// them in memory for EmailSubmission/get.

type submission struct {
	id, identityID, emailID, threadID string
	mailFrom                          string
	rcpts                             []string
	sendAt                            time.Time
}

type submissionLog struct {
	mu   sync.Mutex
	next int
	byAc map[string][]submission
}

func newSubmissionLog() *submissionLog { return &submissionLog{byAc: map[string][]submission{}} }

func (l *submissionLog) state(account string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return "s" + strconv.Itoa(len(l.byAc[account]))
}

func (l *submissionLog) add(account string, s submission) submission {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.next++
	s.id = "S" + strconv.Itoa(l.next)
	l.byAc[account] = append(l.byAc[account], s)
	return s
}

func (l *submissionLog) all(account string) []submission {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.byAc[account])
}

func (s submission) object() map[string]any {
	rcpt := []any{}
	status := map[string]any{}
	for _, r := range s.rcpts {
		rcpt = append(rcpt, map[string]any{"email": r, "parameters": nil})
		status[r] = map[string]any{"smtpReply": "250 2.0.0 delivered", "delivered": "yes", "displayed": "unknown"}
	}
	return map[string]any{
		"id": s.id, "identityId": s.identityID, "emailId": s.emailID, "threadId": s.threadID,
		"envelope":   map[string]any{"mailFrom": map[string]any{"email": s.mailFrom, "parameters": nil}, "rcptTo": rcpt},
		"sendAt":     s.sendAt.UTC().Format(time.RFC3339),
		"undoStatus": "final", "deliveryStatus": status, "dsnBlobIds": []string{}, "mdnBlobIds": []string{},
	}
}

func (c *call) submissionGet(raw json.RawMessage) (any, error) {
	var a getArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkAccount(a.AccountID); err != nil {
		return nil, err
	}
	all := c.s.subs.all(c.acct.Name)
	list, notFound := []any{}, []string{}
	if a.IDs == nil {
		for _, s := range all {
			list = append(list, s.object())
		}
	} else {
		for _, id := range *a.IDs {
			i := slices.IndexFunc(all, func(s submission) bool { return s.id == id })
			if i < 0 {
				notFound = append(notFound, id)
				continue
			}
			list = append(list, all[i].object())
		}
	}
	return map[string]any{"accountId": a.AccountID, "state": c.s.subs.state(c.acct.Name), "list": list, "notFound": notFound}, nil
}

func (c *call) submissionChanges(raw json.RawMessage) (any, error) {
	var a changesArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkAccount(a.AccountID); err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimPrefix(a.SinceState, "s"))
	all := c.s.subs.all(c.acct.Name)
	if err != nil || !strings.HasPrefix(a.SinceState, "s") || n < 0 || n > len(all) {
		return nil, mErr(meCannotCalculateChanges, "unknown EmailSubmission state")
	}
	resp := changesResponse{AccountID: a.AccountID, OldState: a.SinceState, NewState: c.s.subs.state(c.acct.Name),
		Created: []string{}, Updated: []string{}, Destroyed: []string{}}
	for _, s := range all[n:] {
		resp.Created = append(resp.Created, s.id)
	}
	return resp, nil
}

func (c *call) submissionQuery(raw json.RawMessage) (any, error) {
	var a queryArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkAccount(a.AccountID); err != nil {
		return nil, err
	}
	match, err := compileFilter(a.Filter, func(r json.RawMessage) (func(submission) bool, error) {
		var f struct {
			IdentityIDs *[]string `json:"identityIds"`
			EmailIDs    *[]string `json:"emailIds"`
			ThreadIDs   *[]string `json:"threadIds"`
			UndoStatus  *string   `json:"undoStatus"`
			Before      *string   `json:"before"`
			After       *string   `json:"after"`
		}
		if err := decodeCondition(r, &f); err != nil {
			return nil, err
		}
		return func(s submission) bool {
			in := func(l *[]string, v string) bool { return l == nil || slices.Contains(*l, v) }
			return in(f.IdentityIDs, s.identityID) && in(f.EmailIDs, s.emailID) && in(f.ThreadIDs, s.threadID) &&
				(f.UndoStatus == nil || *f.UndoStatus == "final")
		}, nil
	})
	if err != nil {
		return nil, err
	}
	for _, k := range a.Sort {
		if k.Property != "sentAt" && k.Property != "emailId" && k.Property != "threadId" {
			return nil, mErr(meUnsupportedSort, "cannot sort by "+k.Property)
		}
	}
	var ids []string
	for _, s := range c.s.subs.all(c.acct.Name) {
		if match(s) {
			ids = append(ids, s.id)
		}
	}
	if len(a.Sort) > 0 && !a.Sort[0].ascending() {
		slices.Reverse(ids)
	}
	if ids == nil {
		ids = []string{}
	}
	pos, page, err := window(ids, a)
	if err != nil {
		return nil, err
	}
	return queryResponse{AccountID: a.AccountID, QueryState: c.s.subs.state(c.acct.Name), Position: pos, IDs: page}, nil
}

type envelopeAddr struct {
	Email      string          `json:"email"`
	Parameters json.RawMessage `json:"parameters"`
}

func (c *call) submissionSet(raw json.RawMessage) (any, error) {
	var a struct {
		setArgs
		OnSuccessUpdateEmail  map[string]map[string]json.RawMessage `json:"onSuccessUpdateEmail"`
		OnSuccessDestroyEmail []string                              `json:"onSuccessDestroyEmail"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkAccount(a.AccountID); err != nil {
		return nil, err
	}
	old := c.s.subs.state(c.acct.Name)
	if a.IfInState != nil && *a.IfInState != old {
		return nil, mErr(meStateMismatch, "ifInState does not match the current state")
	}
	resp := newSetResponse(a.AccountID, old)
	emailOf := map[string]string{} // "#cid" → email id, for onSuccess…
	for _, cid := range maps2slice(a.Create) {
		s, se, err := c.submit(a.Create[cid])
		if err != nil {
			return nil, err
		}
		if se != nil {
			resp.NotCreated[cid] = se
			continue
		}
		c.created[cid] = s.id
		emailOf["#"+cid] = s.emailID
		resp.Created[cid] = map[string]any{"id": s.id, "threadId": s.threadID, "sendAt": s.sendAt.UTC().Format(time.RFC3339), "undoStatus": "final"}
	}
	for id := range a.Update {
		resp.NotUpdated[id] = &setError{Type: "cannotUnsend", Description: "submissions are final as soon as they are made"}
	}
	for _, id := range a.Destroy {
		resp.NotDestroyed[id] = &setError{Type: "forbidden", Description: "submissions are kept while the server runs"}
	}
	resp.NewState = c.s.subs.state(c.acct.Name)
	// RFC 8621 §7.5: the implicit Email/set for onSuccessUpdateEmail and
	// onSuccessDestroyEmail, for the submissions that were created.
	upd := map[string]map[string]json.RawMessage{}
	for k, patch := range a.OnSuccessUpdateEmail {
		if e, ok := emailOf[k]; ok {
			upd[e] = patch
		} else if !strings.HasPrefix(k, "#") {
			upd[k] = patch
		}
	}
	var destroy []string
	for _, k := range a.OnSuccessDestroyEmail {
		if e, ok := emailOf[k]; ok {
			destroy = append(destroy, e)
		} else if !strings.HasPrefix(k, "#") {
			destroy = append(destroy, k)
		}
	}
	if len(upd) > 0 || len(destroy) > 0 {
		res, err := c.doEmailSet(setArgs{AccountID: a.AccountID, Update: upd, Destroy: destroy})
		if err != nil {
			return nil, err
		}
		b, _ := json.Marshal(res)
		c.extra = append(c.extra, invocation{Name: "Email/set", Args: b})
	}
	return resp, nil
}

// submit sends one EmailSubmission create.
func (c *call) submit(raw json.RawMessage) (submission, *setError, error) {
	var in struct {
		IdentityID string `json:"identityId"`
		EmailID    string `json:"emailId"`
		Envelope   *struct {
			MailFrom envelopeAddr   `json:"mailFrom"`
			RcptTo   []envelopeAddr `json:"rcptTo"`
		} `json:"envelope"`
	}
	if err := decodeArgs(raw, &in); err != nil {
		return submission{}, seInvalid(err.(*methodError).Description), nil
	}
	if in.IdentityID != identityIDOf(c) {
		return submission{}, seInvalid("no such identity", "identityId"), nil
	}
	eid, _ := c.resolveID(in.EmailID)
	recs, err := c.loadEmails([]string{eid})
	if err != nil {
		return submission{}, nil, err
	}
	rec := recs[eid]
	if rec == nil {
		return submission{}, seInvalid("no such Email", "emailId"), nil
	}
	blob, err := c.s.opts.Store.OpenBlob(c.ctx, rec.msg.BlobID)
	if err != nil {
		return submission{}, nil, err
	}
	data := make([]byte, blob.Size())
	_, err = blob.ReadAt(data, 0)
	blob.Close()
	if err != nil && int64(len(data)) != blob.Size() {
		return submission{}, nil, err
	}
	hdrEnd := bytes.Index(data, []byte("\r\n\r\n"))
	if hdrEnd < 0 {
		return submission{}, &setError{Type: "invalidEmail", Description: "the Email has no header/body separator"}, nil
	}
	fields := splitHeader(data[:hdrEnd+2])
	mailFrom := c.acct.Name
	var rcpts []string
	if in.Envelope != nil {
		mailFrom = in.Envelope.MailFrom.Email
		for _, r := range in.Envelope.RcptTo {
			rcpts = append(rcpts, r.Email)
		}
	} else {
		for _, name := range []string{"to", "cc", "bcc"} {
			for _, f := range fields {
				if strings.EqualFold(f.Name, name) {
					for _, a := range asAddresses(f.Value) {
						rcpts = append(rcpts, a.Email)
					}
				}
			}
		}
	}
	if !strings.EqualFold(mailFrom, c.acct.Name) {
		return submission{}, &setError{Type: "forbiddenMailFrom", Description: "the envelope sender must be " + c.acct.Name}, nil
	}
	var from []emailAddress
	for _, f := range fields {
		if strings.EqualFold(f.Name, "from") {
			from = append(from, asAddresses(f.Value)...)
		}
	}
	if len(from) != 1 || !strings.EqualFold(from[0].Email, c.acct.Name) {
		return submission{}, &setError{Type: "forbiddenFrom", Description: "the From field must be " + c.acct.Name}, nil
	}
	if len(rcpts) == 0 {
		return submission{}, &setError{Type: "noRecipients", Description: "the Email has no recipients"}, nil
	}
	if len(rcpts) > 100 {
		return submission{}, &setError{Type: "tooManyRecipients", Description: "at most 100 recipients"}, nil
	}
	// Resolve like SMTP submission: an account or an alias is local, an
	// unknown user of a local domain is refused, any other address goes
	// to the outbound queue (when there is one).
	var targets []store.Target
	var rcptOf []string // the envelope recipient that named each target
	var bad, remote []string
	seen := map[string]bool{}
	for _, r := range rcpts {
		name := strings.ToLower(r)
		if seen[name] {
			continue
		}
		seen[name] = true
		acct, isRemote, err := c.s.resolveRecipient(c.ctx, name)
		switch {
		case err != nil:
			return submission{}, nil, err
		case acct != "":
			if !slices.ContainsFunc(targets, func(t store.Target) bool { return t.Account == acct }) {
				targets = append(targets, store.Target{Account: acct})
				rcptOf = append(rcptOf, r)
			}
		case isRemote && c.s.opts.Queue != nil:
			remote = append(remote, r)
		default:
			bad = append(bad, r)
		}
	}
	if len(bad) > 0 {
		why := "no such local user"
		if c.s.opts.Queue == nil {
			why += ", and remote delivery is not configured"
		}
		return submission{}, &setError{Type: "invalidRecipients", InvalidRecipients: bad,
			Description: why + ": " + strings.Join(bad, ", ")}, nil
	}
	// The delivered copy: a trace field, and no Bcc (RFC 5322 §3.6.3).
	var out bytes.Buffer
	fmt.Fprintf(&out, "Received: by %s with JMAP id %s; %s\r\n", c.hostname(), randomToken(6), time.Now().Format(time.RFC1123Z))
	writeWithoutBcc(&out, data[:hdrEnd+2])
	out.Write(data[hdrEnd+2:])
	if len(remote) > 0 {
		// Queued first: if that fails nothing was delivered, and the
		// client may simply try again.
		if _, err := c.s.opts.Queue.Enqueue(c.ctx, bytes.NewReader(out.Bytes()), c.acct.Name, mailFrom, remote); err != nil {
			return submission{}, nil, err
		}
		if c.s.opts.Queued != nil {
			c.s.opts.Queued()
		}
	}
	if len(targets) > 0 {
		stored := out.Bytes() // Deliver reads out; these octets stay
		res, err := c.s.opts.Store.Deliver(c.ctx, &out, targets)
		if err != nil {
			return submission{}, nil, err
		}
		for i, r := range res {
			if r.Err != nil {
				return submission{}, &setError{Type: "invalidRecipients", InvalidRecipients: []string{targets[i].Account},
					Description: "delivery failed: " + r.Err.Error()}, nil
			}
		}
		if hook := c.s.opts.Delivered; hook != nil {
			// As after an SMTP delivery (the vacation autoresponder):
			// each local copy is durable; the response does not wait.
			head := stored[:min(len(stored), maxDeliveredHead)]
			for i, t := range targets {
				go hook(context.WithoutCancel(c.ctx), t.Account, rcptOf[i], mailFrom, head)
			}
		}
	}
	s := c.s.subs.add(c.acct.Name, submission{identityID: in.IdentityID, emailID: eid, threadID: rec.thread,
		mailFrom: mailFrom, rcpts: rcpts, sendAt: time.Now()})
	return s, nil, nil
}

// maxDeliveredHead bounds the start of the message Options.Delivered
// gets (as smtpserver's: the header section, up to 64 KiB).
const maxDeliveredHead = 64 << 10

// writeWithoutBcc copies a header block, leaving out Bcc fields.
func writeWithoutBcc(w *bytes.Buffer, h []byte) {
	skip := false
	for _, line := range bytes.SplitAfter(h, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if !skip {
				w.Write(line)
			}
			continue
		}
		skip = len(line) >= 4 && strings.EqualFold(string(line[:4]), "bcc:")
		if !skip {
			w.Write(line)
		}
	}
}

// resolveRecipient finds where a submission recipient goes: the account
// of an address or alias, or remote (true) when its domain is not local
// (neither configured nor the domain of an account or alias).
func (s *Server) resolveRecipient(ctx context.Context, addr string) (account string, remote bool, err error) {
	acct, err := s.opts.Store.Account(ctx, addr)
	if err == nil {
		return acct.Name, false, nil
	}
	if !errors.Is(err, store.ErrNoSuchAccount) {
		return "", false, err
	}
	if al, ok := s.opts.Store.(store.Aliases); ok {
		if a, err := al.ResolveAlias(ctx, addr); err != nil || a != "" {
			return a, false, err
		}
	}
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return "", false, nil
	}
	var configured []string
	if s.opts.LocalDomains != nil {
		configured = s.opts.LocalDomains()
	}
	local, err := store.IsLocalDomain(ctx, s.opts.Store, addr[i+1:], configured)
	return "", !local, err
}
