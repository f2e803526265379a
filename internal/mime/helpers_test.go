package mime

import (
	"encoding/base64"
	"io"
)

// base64Lines returns a writer that base64-encodes into w with 76-column
// CRLF lines, as mailers do.
func base64Lines(w io.Writer) io.WriteCloser {
	return base64.NewEncoder(base64.StdEncoding, &lineBreaker{w: w})
}

type lineBreaker struct {
	w   io.Writer
	col int
}

func (l *lineBreaker) Write(p []byte) (int, error) {
	for _, c := range p {
		if l.col == 76 {
			l.w.Write([]byte("\r\n"))
			l.col = 0
		}
		l.w.Write([]byte{c})
		l.col++
	}
	return len(p), nil
}
