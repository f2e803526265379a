package blobfs

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/letterbox/letterbox/internal/search/searchtest"
)

// BenchmarkStructure compares the delivery step that parses a stored body
// alone (StructureOf) with the one that also computes its search signature
// (StructureAndSignature), over the search benchmark corpus (2-8 KB text,
// some multipart/alternative, 10% with a 100-500 KB attachment).
func BenchmarkStructure(b *testing.B) {
	dir := b.TempDir()
	c := searchtest.New(1)
	var paths []string
	var sizes []int64
	for i := range 200 {
		p := filepath.Join(dir, fmt.Sprint(i))
		msg := c.Message(i, searchtest.Options{AttachmentRate: 0.1})
		if err := os.WriteFile(p, []byte(msg), 0o600); err != nil {
			b.Fatal(err)
		}
		paths = append(paths, p)
		sizes = append(sizes, int64(len(msg)))
	}
	b.Run("StructureOf", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := StructureOf(paths[i%len(paths)], sizes[i%len(paths)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Analyze", func(b *testing.B) {
		i, total := 0, 0
		for b.Loop() {
			a, err := Analyze(paths[i%len(paths)], sizes[i%len(paths)])
			if err != nil {
				b.Fatal(err)
			}
			total += len(a.TextSig)
			i++
		}
		b.ReportMetric(float64(total)/float64(i), "sigbytes/msg")
	})
}
