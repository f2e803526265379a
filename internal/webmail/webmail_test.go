package webmail

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestServesPage: the page and its assets come from the binary with a CSP
// that allows only our own script; unknown paths are 404; the whole first
// load is small.
func TestServesPage(t *testing.T) {
	h := Handler()
	var total int
	for _, p := range []string{"/", "/app.js", "/app.css"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		if rec.Code != 200 {
			t.Fatalf("GET %s: %d", p, rec.Code)
		}
		csp := rec.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: CSP %q", p, csp)
		}
		var gz strings.Builder
		zw := gzip.NewWriter(&gz)
		io.Copy(zw, rec.Body)
		zw.Close()
		total += gz.Len()
	}
	if total > 200<<10 {
		t.Errorf("first load is %d bytes gzipped, over 200 KB", total)
	}
	t.Logf("first load: %d bytes gzipped", total)
	for _, p := range []string{"/nope.js", "/static/app.js", "/a/b"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, rec.Code)
		}
	}
}
