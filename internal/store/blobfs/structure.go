package blobfs

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/letterbox/letterbox/internal/mime"
	"github.com/letterbox/letterbox/internal/search"
)

// StructureOf parses the body stored at path with internal/mime and
// returns the encoded part tree (ENVELOPE, BODYSTRUCTURE, part offsets) a
// driver keeps with the blob: computed once per body, at delivery, opaque
// to the store. The parser never fails on content; only an I/O error fails.
func StructureOf(path string, size int64) ([]byte, error) {
	a, err := parse(path, size, false)
	return a.Structure, err
}

// Analysis is what a driver keeps of a body, from one parse at delivery.
type Analysis struct {
	Structure []byte // internal/mime's encoded part tree, opaque to the store
	TextSig   []byte // internal/search's signature, opaque to the store
	// Preview is the RFC 8970 preview (mime.Preview).
	Preview string
	// MessageID is the body's Message-ID ("<...>"), "" when it has none;
	// Parents are the message IDs of its In-Reply-To and References,
	// nearest first, without repeats: what threading looks up.
	MessageID string
	Parents   []string
}

// maxParents bounds the parents Analyze returns (a References field can
// be long; the nearest ones are enough to find the thread).
const maxParents = 32

// Analyze parses the body at path once and returns its Analysis.
func Analyze(path string, size int64) (Analysis, error) {
	return parse(path, size, true)
}

// AnalyzeTemp is Analyze of a spooled body: from the bytes Spool kept
// (Temp.Data) when it kept them, without opening the file again.
func AnalyzeTemp(t Temp) (Analysis, error) {
	if t.Data != nil {
		return parseFrom(bytes.NewReader(t.Data), int64(len(t.Data)), true)
	}
	return parse(t.Path, t.Size, true)
}

func parse(path string, size int64, all bool) (Analysis, error) {
	f, err := os.Open(path)
	if err != nil {
		return Analysis{}, fmt.Errorf("blobfs: parsing structure: %w", err)
	}
	defer f.Close()
	return parseFrom(f, size, all)
}

func parseFrom(f io.ReaderAt, size int64, all bool) (Analysis, error) {
	var a Analysis
	root, err := mime.Parse(f, size)
	if err != nil {
		return a, fmt.Errorf("blobfs: parsing structure: %w", err)
	}
	a.Structure = root.Encode()
	if !all {
		return a, nil
	}
	if a.TextSig, err = search.Build(f, root); err != nil {
		return a, fmt.Errorf("blobfs: search signature: %w", err)
	}
	if a.Preview, err = mime.Preview(f, root); err != nil {
		return a, fmt.Errorf("blobfs: preview: %w", err)
	}
	a.MessageID, a.Parents, err = threadKeys(f, root)
	if err != nil {
		return a, fmt.Errorf("blobfs: reading header: %w", err)
	}
	return a, nil
}

// threadKeys reads the message IDs threading needs from the root header.
func threadKeys(r io.ReaderAt, root *mime.Part) (own string, parents []string, err error) {
	if ids := MessageIDs(root.Envelope.MessageID); len(ids) > 0 {
		own = ids[0]
	}
	hdr := make([]byte, root.BodyStart-root.HeaderStart)
	if _, err := r.ReadAt(hdr, root.HeaderStart); err != nil && err != io.EOF {
		return "", nil, err
	}
	refs, _ := mime.Header(hdr, "References")
	// In-Reply-To names the parent; References ends with it, so the
	// nearest ancestors come from its end.
	cand := MessageIDs(root.Envelope.InReplyTo)
	rs := MessageIDs(refs)
	for i := len(rs) - 1; i >= 0; i-- {
		cand = append(cand, rs[i])
	}
	seen := map[string]bool{own: true}
	for _, id := range cand {
		if !seen[id] && len(parents) < maxParents {
			seen[id] = true
			parents = append(parents, id)
		}
	}
	return own, parents, nil
}

// MessageIDs extracts the "<...>" message IDs (RFC 5322 §3.6.4) of a
// header value, in order; white space inside one is dropped, and an ID
// longer than 250 octets is ignored.
func MessageIDs(v string) []string {
	var out []string
	for {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return out
		}
		id := strings.Join(strings.Fields(v[i:i+j+1]), "")
		v = v[i+j+1:]
		if len(id) > 2 && len(id) <= 250 && !strings.ContainsAny(id[1:len(id)-1], "<") {
			out = append(out, id)
		}
	}
}
