//go:build sqlite_cgo && cgo

package sqlite

// The SQLite engine with -tags sqlite_cgo: github.com/mattn/go-sqlite3,
// the C library through cgo (needs a C compiler and CGO_ENABLED=1). The
// default is engine_modernc.go; see there.

import (
	"errors"
	"fmt"
	"strings"

	sqlite3 "github.com/mattn/go-sqlite3" // registers the "sqlite3" database/sql driver
)

// engineName names the engine in logs and benchmarks.
const engineName = "github.com/mattn/go-sqlite3 (cgo)"

// driverName is the database/sql driver the engine registers.
const driverName = "sqlite3"

// cgoPragmas are the pragmas go-sqlite3 takes as DSN keys ("_name=value");
// it ignores keys it does not know, so dsn refuses any other.
var cgoPragmas = map[string]bool{
	"busy_timeout": true,
	"foreign_keys": true,
	"synchronous":  true,
	"journal_mode": true,
	"query_only":   true,
}

// dsn is the data source name of the database file at the file: URI u,
// applying pragmas on every new connection; immediate makes BEGIN take
// the write lock at once (BEGIN IMMEDIATE). go-sqlite3 applies them in
// its own fixed order, busy_timeout first.
func dsn(u string, immediate bool, pragmas ...pragma) string {
	var q []string
	for _, p := range pragmas {
		if !cgoPragmas[p.name] {
			panic(fmt.Sprintf("sqlite: pragma %s has no go-sqlite3 DSN key", p.name))
		}
		q = append(q, "_"+p.name+"="+p.value)
	}
	if immediate {
		q = append(q, "_txlock=immediate")
	}
	if len(q) == 0 {
		return u
	}
	return u + "?" + strings.Join(q, "&")
}

// isBusy reports whether err is SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var e sqlite3.Error
	return errors.As(err, &e) && e.Code == sqlite3.ErrBusy
}
