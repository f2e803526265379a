// Package dovecottest runs a throwaway Dovecot 2.3 on loopback ports, for
// tests that compare letterbox with Dovecot or point a client at it, and for
// bench. Everything lives under one temp directory: configuration, a
// passwd-file with plaintext passwords, Maildir storage, logs.
//
// Start and (*Server).Stop return errors and take no *testing.T (bench is a
// main package); StartT wraps them for tests: it skips when Dovecot is not
// installed (naming it), fails instead when CI=true, stops Dovecot and
// removes its directory at cleanup, and logs Dovecot's output when the test
// failed.
package dovecottest
