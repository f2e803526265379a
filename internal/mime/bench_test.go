package mime

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// benchMessages are the messages the benchmarks run on.
var benchMessages = []string{"simple", "alternative", "forward", "related"}

func BenchmarkParse(b *testing.B) {
	for _, name := range benchMessages {
		msg := readMessage(b, name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(bytes.NewReader(msg), int64(len(msg))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseLarge parses a 10 MB message with a base64 attachment: the
// cost of delivery-time parsing for big mail.
func BenchmarkParseLarge(b *testing.B) {
	var msg bytes.Buffer
	msg.WriteString("Subject: big\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	line := strings.Repeat("QUJD", 19) + "\r\n"
	for msg.Len() < 10<<20 {
		msg.WriteString(line)
	}
	msg.WriteString("--b--\r\n")
	data := msg.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		Parse(bytes.NewReader(data), int64(len(data)))
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, name := range benchMessages {
		p := ParseBytes(readMessage(b, name))
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Encode()
			}
			b.ReportMetric(float64(len(p.Encode())), "encoded-bytes")
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, name := range benchMessages {
		enc := ParseBytes(readMessage(b, name)).Encode()
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Decode(enc); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(enc)), "encoded-bytes")
		})
	}
}

// BenchmarkDecodeJSON is the alternative we did not take, for comparison.
func BenchmarkDecodeJSON(b *testing.B) {
	for _, name := range benchMessages {
		enc, _ := json.Marshal(ParseBytes(readMessage(b, name)))
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var p Part
				if err := json.Unmarshal(enc, &p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(enc)), "encoded-bytes")
		})
	}
}
