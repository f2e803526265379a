package conformance

import (
	"context"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// dovecotQuotaConf gives Dovecot's quota plugin (count backend, virtual
// sizes: octets with CRLF line ends, as letterbox stores them) the limits
// letterbox gets below, under the root name letterbox uses.
const dovecotQuotaConf = `mail_plugins = $mail_plugins quota
protocol imap {
  mail_plugins = $mail_plugins imap_quota
}
plugin {
  quota = count:User quota
  quota_vsizes = yes
  quota_rule = *:storage=10M:messages=1000
}
`

// TestQuota compares RFC 9208 QUOTA answers over the same corpus: the
// roots of INBOX and of another mailbox, the root's usage and limits, an
// unknown root, and the usage after a copy and an expunge.
func TestQuota(t *testing.T) {
	dv := startDovecotWith(t, dovecotQuotaConf)
	lb := startLetterboxWithStore(t, func(st store.Store) {
		q, ok := st.(store.Quotas)
		if !ok {
			t.Fatal("store has no quotas")
		}
		if err := q.SetQuota(context.Background(), testUser, 10<<20, 1000); err != nil {
			t.Fatal(err)
		}
	})
	eps := []endpoint{dv, lb}
	var appendCmds []string
	for _, m := range corpus {
		appendCmds = append(appendCmds, appendCmd("INBOX", m.flags, m.date, m.raw()))
	}
	runIMAP(t, eps, imapScript{name: "APPEND corpus", cmds: appendCmds})
	for _, s := range []imapScript{
		{name: "GETQUOTAROOT and GETQUOTA", cmds: []string{
			"GETQUOTAROOT INBOX", "GETQUOTAROOT Archive", `GETQUOTA "User quota"`, `GETQUOTA "nonexistent"`}},
		{name: "QUOTA after COPY and EXPUNGE", cmds: []string{
			"CREATE Quota-test", "EXAMINE INBOX", "COPY 1:3 Quota-test", `GETQUOTA "User quota"`,
			"SELECT Quota-test", `STORE 1:* +FLAGS.SILENT (\Deleted)`, "EXPUNGE", `GETQUOTA "User quota"`}},
	} {
		runIMAP(t, eps, s)
	}
}
