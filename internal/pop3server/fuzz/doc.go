// Package fuzz holds the POP3 server's fuzz target, FuzzSession, apart from
// the pop3server package's own tests on purpose: those open the real SQLite
// driver, and `go test -fuzz` builds every package of the test binary with
// fuzzing instrumentation, so a fuzz target beside them compiles
// modernc.org/sqlite instrumented, which dominates a cold fuzz build. This
// package reaches the server through its exported API only (New, Serve,
// Close) over in-memory connections, with a small in-memory store;
// TestNoSQLiteInFuzzBuild keeps the driver out.
package fuzz
