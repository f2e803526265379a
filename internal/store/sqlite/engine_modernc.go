//go:build !sqlite_cgo

package sqlite

// The SQLite engine, default build: modernc.org/sqlite, SQLite's C source
// translated to Go. No C compiler needed, CGO_ENABLED=0 works. The other
// engine is engine_cgo.go (-tags sqlite_cgo); this file and that one are
// the only places that differ between them (docs/ARCHITECTURE.md, "SQLite
// engine: pure Go or cgo").

import (
	"errors"
	"strings"

	msqlite "modernc.org/sqlite" // registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"
)

// engineName names the engine in logs and benchmarks.
const engineName = "modernc.org/sqlite (pure Go)"

// driverName is the database/sql driver the engine registers.
const driverName = "sqlite"

// dsn is the data source name of the database file at the file: URI u,
// applying pragmas (in order) on every new connection; immediate makes
// BEGIN take the write lock at once (BEGIN IMMEDIATE).
func dsn(u string, immediate bool, pragmas ...pragma) string {
	var q []string
	for _, p := range pragmas {
		q = append(q, "_pragma="+p.name+"("+p.value+")")
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
	var e *msqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}
