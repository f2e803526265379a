package main

// The reads workload's corpus (internal/search/searchtest messages) and the
// hits every SEARCH must return, worked out here from the messages
// themselves, independently of both servers.

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"runtime"
	"strings"
	"sync"

	"github.com/letterbox/letterbox/internal/search/searchtest"
)

// readsQuery is one SEARCH of the workload.
type readsQuery struct {
	key      string // row key: "subject", "from", "body", "text"
	criteria string // as sent: SUBJECT "water"
	needle   string // lower case ASCII
	hit      []bool // corpus index → must match
	hits     int
}

// readsCorpus is the messages both servers get.
type readsCorpus struct {
	msgs    []string // message i, CRLF line ends; its Message-ID is <i.HEX@example.org>
	bytes   int64
	attach  int // messages with a 100-500 KB base64 attachment
	alt     int // multipart/alternative
	encSubj int // RFC 2047 encoded subjects
	queries []*readsQuery
}

// foldedUnicodeWords are ASCII renderings of searchtest's Unicode words
// after case folding and compatibility decomposition (ﬁnance → finance,
// ıspanak → ispanak, the Kelvin sign → k, ß → ss...): a needle inside one
// of them could match there on one server and not on the other (or not in
// this file's ASCII matcher), so needles must avoid them.
var foldedUnicodeWords = []string{"grusse", "grüsse", "arger", "strasse", "sisyfos", "istanbul", "ispanak",
	"apple", "pple", "kelvin", "dzemal", "demal", "emal", "privet", "naive", "nai", "omega", "mega", "cafe", "finance", "ss", "ssig", "sig"}

// generateCorpus makes n messages from seed: searchtest's defaults (2-8 KB
// of text, mostly plain 7bit, some quoted-printable, ~20%
// multipart/alternative, 1 in 8 subjects with an RFC 2047 encoded Unicode
// word) with a 100-500 KB base64 attachment in 10% of them, and evaluates
// the queries on every message. attach is the share of messages with an
// attachment (the reads workload: 0.1).
func generateCorpus(n int, seed uint64, attach float64, queries []*readsQuery) (*readsCorpus, error) {
	for _, q := range queries {
		for _, w := range foldedUnicodeWords {
			if len(q.needle) >= 3 && strings.Contains(w, q.needle) {
				return nil, fmt.Errorf("search word %q is part of %q, a corpus word after Unicode case folding: pick another", q.needle, w)
			}
		}
		q.hit = make([]bool, n)
	}
	c := &readsCorpus{msgs: make([]string, n), queries: queries}
	gen := searchtest.New(seed)
	work := make(chan int, 64)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for w := 0; w < runtime.NumCPU(); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				errs[i] = c.evaluate(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		// The generator is one seeded sequence: messages in order.
		c.msgs[i] = gen.Message(i, searchtest.Options{AttachmentRate: attach})
		work <- i
	}
	close(work)
	wg.Wait()
	for i, m := range c.msgs {
		if errs[i] != nil {
			return nil, fmt.Errorf("corpus message %d: %w", i, errs[i])
		}
		c.bytes += int64(len(m))
		head, _, _ := strings.Cut(m, "\r\n\r\n")
		if strings.Contains(head, "multipart/alternative") {
			c.alt++
		}
		if strings.Contains(m, "Content-Disposition: attachment") {
			c.attach++
		}
		for _, l := range strings.Split(head, "\r\n") {
			if strings.HasPrefix(l, "Subject: ") && strings.Contains(l, "=?") {
				c.encSubj++
			}
		}
	}
	for _, q := range queries {
		for _, h := range q.hit {
			if h {
				q.hits++
			}
		}
	}
	return c, nil
}

// evaluate decides every query for message i: SUBJECT and FROM look at the
// RFC 2047-decoded header field, BODY at the decoded (quoted-printable,
// base64) text parts, TEXT at both the decoded header and the body. Case
// is folded; needles are ASCII. Non-text parts (the attachments) are not
// searched here: a 6+ letter word in random bytes is vanishingly unlikely,
// and a server that found one would show up as a mismatch.
func (c *readsCorpus) evaluate(i int) error {
	msg := c.msgs[i]
	hdr, body, err := readHeader(msg)
	if err != nil {
		return err
	}
	dec := new(mime.WordDecoder)
	decode := func(v string) string {
		if d, err := dec.DecodeHeader(v); err == nil {
			return d
		}
		return v
	}
	var headerText strings.Builder
	for k, vs := range hdr {
		for _, v := range vs {
			headerText.WriteString(k + ": " + decode(v) + "\n")
		}
	}
	var texts [][]byte
	if err := collectText(hdr, body, &texts, 0); err != nil {
		return err
	}
	bodyHas := func(needle string) bool {
		for _, t := range texts {
			if bytes.Contains(bytes.ToLower(t), []byte(needle)) {
				return true
			}
		}
		return false
	}
	for _, q := range c.queries {
		var h bool
		switch q.key {
		case "subject":
			h = strings.Contains(strings.ToLower(decode(hdr.Get("Subject"))), q.needle)
		case "from":
			h = strings.Contains(strings.ToLower(decode(hdr.Get("From"))), q.needle)
		case "body":
			h = bodyHas(q.needle)
		case "text":
			h = strings.Contains(strings.ToLower(headerText.String()), q.needle) || bodyHas(q.needle)
		}
		q.hit[i] = h
	}
	return nil
}

func readHeader(msg string) (textproto.MIMEHeader, string, error) {
	head, body, ok := strings.Cut(msg, "\r\n\r\n")
	if !ok {
		head, body = strings.TrimSuffix(msg, "\r\n"), ""
	}
	h, err := textproto.NewReader(bufio.NewReader(strings.NewReader(head + "\r\n\r\n"))).ReadMIMEHeader()
	if err != nil && err != io.EOF {
		return nil, "", err
	}
	return h, body, nil
}

// collectText appends the decoded content of every text/* leaf of a part
// with header hdr and body body.
func collectText(hdr textproto.MIMEHeader, body string, out *[][]byte, depth int) error {
	if depth > 10 {
		return fmt.Errorf("MIME nesting too deep")
	}
	ct := hdr.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil {
		mt = "text/plain"
	}
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		mr := multipart.NewReader(strings.NewReader(body), params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			b, err := io.ReadAll(p)
			if err != nil {
				return err
			}
			if err := collectText(p.Header, string(b), out, depth+1); err != nil {
				return err
			}
		}
	case mt == "message/rfc822":
		h, b, err := readHeader(body)
		if err != nil {
			return err
		}
		var ht strings.Builder
		for k, vs := range h {
			for _, v := range vs {
				ht.WriteString(k + ": " + v + "\n")
			}
		}
		*out = append(*out, []byte(ht.String()))
		return collectText(h, b, out, depth+1)
	case strings.HasPrefix(mt, "text/"):
		var r io.Reader = strings.NewReader(body)
		switch strings.ToLower(strings.TrimSpace(hdr.Get("Content-Transfer-Encoding"))) {
		case "quoted-printable":
			r = quotedprintable.NewReader(r)
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, r)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return fmt.Errorf("decoding a %s part: %w", mt, err)
		}
		*out = append(*out, b)
	}
	return nil
}
