package smtpserver

import (
	"context"
	"slices"
	"testing"

	"github.com/letterbox/letterbox/internal/auth"
)

// Mail to an alias goes to its account, to any other address of a
// catch-all domain to the catch-all's account; a domain with only aliases
// is local (unknown users there get 5.1.1, not a relay refusal).
func TestAliasDelivery(t *testing.T) {
	ts := startServer(t, Options{Mode: ModeSMTP})
	ctx := context.Background()
	if err := ts.store.AddAlias(ctx, "sales@example.com", "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := ts.store.AddAlias(ctx, "@catchall.example", "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := ts.store.AddAlias(ctx, "info@aliasonly.example", "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	c := dial(t, ts.addr)
	c.run(`
		S: 220
		C: EHLO c.example
		S: 250
		C: MAIL FROM:<someone@remote.example>
		S: 250
		C: RCPT TO:<Sales@Example.com>
		S: 250
		C: RCPT TO:<anything@catchall.example>
		S: 250
		C: RCPT TO:<nobody@aliasonly.example>
		S: 550 5.1.1
		C: RCPT TO:<x@elsewhere.example>
		S: 550 5.7.1
		C: DATA
		S: 354
		C: Subject: to aliases
		C:
		C: hi
		C: .
		S: 250`)
	calls := ts.store.deliverCalls()
	if len(calls) != 1 {
		t.Fatalf("%d deliveries", len(calls))
	}
	var got []string
	for _, tg := range calls[0] {
		got = append(got, tg.Account)
	}
	slices.Sort(got)
	if want := []string{"alice@example.com", "bob@example.com"}; !slices.Equal(got, want) {
		t.Fatalf("delivered to %v, want %v", got, want)
	}
}

// On submission an account may send as its own aliases, not as another
// account's.
func TestAliasSender(t *testing.T) {
	ts, cliTLS := submissionServer(t, auth.Options{})
	if err := ts.store.AddAlias(context.Background(), "sales@example.com", "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		user, want string
	}{{"alice@example.com", "250"}, {"bob@example.com", "553 5.7.1"}} {
		cl := dial(t, ts.addr)
		cl.run("S: 220\nC: EHLO laptop.example\nS: 250\nC: STARTTLS\nS: 220")
		cl.startTLS(cliTLS)
		cl.run(`
			C: EHLO laptop.example
			S: 250
			C: AUTH PLAIN ` + plainIR("", c.user, testPassword) + `
			S: 235
			C: MAIL FROM:<sales@example.com>
			S: ` + c.want)
	}
}
