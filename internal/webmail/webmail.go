// Package webmail serves letterbox's web mail page: static HTML, CSS and
// vanilla JavaScript embedded in the binary (no build step), mounted at "/"
// on the JMAP listener. The page is a JMAP client (RFC 8620, RFC 8621): it
// logs in with POST /jmap/web/login (a session cookie plus a CSRF token,
// see internal/jmapserver/cookieauth.go) and reads and changes mail only
// through /jmap. This package imports nothing of letterbox.
package webmail

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var files embed.FS

// pageCSP allows only the page's own script and style. Images are limited
// to our own origin and data: URLs, so a message (shown in a srcdoc iframe,
// which inherits this policy) fetches no remote image; frame-src allows
// only the srcdoc frame (about:).
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Handler serves the page and its assets.
func Handler() http.Handler {
	sub, _ := fs.Sub(files, "static")
	fileServer := http.FileServer(http.FS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := path.Clean("/" + r.URL.Path)
		if p != "/" && !strings.Contains(p[1:], "/") {
			if _, err := fs.Stat(sub, p[1:]); err != nil {
				http.NotFound(w, r)
				return
			}
		} else if p != "/" {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", pageCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		fileServer.ServeHTTP(w, r)
	})
}
