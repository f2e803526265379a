package jmapserver

import (
	"context"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/postgres"
	"github.com/letterbox/letterbox/internal/testutil/pgtest"
)

// TestOnPostgres runs the method tests on the PostgreSQL driver (object
// ids, tombstones, change feed and all), each in a schema of its own.
func TestOnPostgres(t *testing.T) {
	base := pgtest.DSN(t)
	saved := harnessStore
	defer func() { harnessStore = saved }()
	harnessStore = func(t testing.TB) store.Store {
		ctx := context.Background()
		dsn := pgtest.Schema(t, base, "lbjmap")
		st, err := postgres.Open(ctx, postgres.Options{DSN: dsn, SpoolDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	for name, f := range map[string]func(*testing.T){
		"EmailIDsAreObjectIDs":         TestEmailIDsAreObjectIDs,
		"EmailQuerySetChanges":         TestEmailQuerySetChanges,
		"EmailCreateImportParseSubmit": TestEmailCreateImportParseSubmit,
		"MailboxGetSetChanges":         TestMailboxGetSetChanges,
		"ResultReferences":             TestResultReferences,
		"JamClient":                    TestJamClient,
		"IdentitySet":                  TestIdentitySet,
		"WebHTML":                      TestWebHTML,
		"SharedAccountView":            TestSharedAccountView,
		"SharedAccountRights":          TestSharedAccountRights,
		"SharedAccountChangesAndPush":  TestSharedAccountChangesAndPush,
		"SubmissionDeliveredHook":      TestSubmissionDeliveredHook,
		"JamSharedAccount":             TestJamSharedAccount,
	} {
		t.Run(name, f)
	}
}
