//go:build sqlite_cgo && !cgo

package sqlite

// -tags sqlite_cgo selects the cgo engine (engine_cgo.go), which needs
// CGO_ENABLED=1 and a C compiler (Debian: gcc). Without them the build
// stops here with this name in the error instead of in go-sqlite3's stub.
var _ = sqliteCgoTagNeedsCgoEnabledAndACCompiler
