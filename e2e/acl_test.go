//go:build e2e

package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// aclScript: alice shares a folder with bob through SETACL (RFC 4314),
// first lr, then lrswite; bob finds it with LIST under the Other Users
// namespace, reads it, is refused \Deleted, then may set it and expunge.
// Python's imaplib has SETACL, GETACL, MYRIGHTS of its own.
const aclScript = `
import imaplib, sys
host, port, alice, apass, bob, bpass = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
def check(ok, what):
    if not ok:
        sys.exit('FAIL: ' + what)
    print('OK', what, flush=True)
A = imaplib.IMAP4_SSL(host, port); A.login(alice, apass)
B = imaplib.IMAP4_SSL(host, port); B.login(bob, bpass)
caps = [c.upper() for c in A.capabilities]
check('ACL' in caps and 'RIGHTS=TEXK' in caps, 'ACL and RIGHTS=texk advertised')
check(A.create('Team')[0] == 'OK', 'alice creates Team')
check(A.append('Team', None, None, b'Subject: team note\r\n\r\nhello bob\r\n')[0] == 'OK', 'alice appends')
check(A.setacl('Team', bob, 'lr')[0] == 'OK', 'alice grants lr')
typ, data = A.getacl('Team')
check(typ == 'OK' and (' %s lr ' % bob).encode() in data[0], 'GETACL shows bob lr: %r' % data)
typ, data = B.namespace()
check(typ == 'OK' and b'(("shared/" "/"))' in data[0], 'NAMESPACE has the shared namespace: %r' % data)
name = 'shared/%s/Team' % alice
typ, data = B.list('""', 'shared/*')
check(typ == 'OK' and any(name.encode() in l for l in data if l), 'bob lists %s: %r' % (name, data))
typ, data = B.myrights('"%s"' % name)
check(typ == 'OK' and data[0].endswith(b' lr'), 'MYRIGHTS lr: %r' % data)
try:
    B.select('"%s"' % name)
    check(False, 'SELECT with lr is read-only')
except imaplib.IMAP4.readonly:
    print('OK SELECT with lr is READ-ONLY', flush=True)
typ, data = B.select('"%s"' % name, readonly=True)
check(typ == 'OK' and data[0] == b'1', 'bob examines it: %r' % data)
typ, data = B.fetch('1', '(BODY.PEEK[TEXT])')
check(typ == 'OK' and b'hello bob' in data[0][1], 'bob reads the message: %r' % data)
typ, data = B.store('1', '+FLAGS', '(\\Deleted)')
check(typ == 'OK' and not any(d and b'\\Deleted' in d for d in data), 'bob cannot set \\Deleted with lr (silently left alone): %s %r' % (typ, data))
A.select('Team')
typ, data = A.fetch('1', '(FLAGS)')
check(b'\\Deleted' not in data[0], 'alice sees no \\Deleted: %r' % data)
check(A.setacl('Team', bob, 'lrswite')[0] == 'OK', 'alice grants lrswite')
typ, data = B.select('"%s"' % name)
check(typ == 'OK', 'bob selects it read-write')
typ, data = B.store('1', '+FLAGS', '(\\Deleted)')
check(typ == 'OK' and b'\\Deleted' in data[0], 'bob sets \\Deleted: %r' % data)
typ, data = A.fetch('1', '(FLAGS)')
check(b'\\Deleted' in data[0], 'alice sees \\Deleted: %r' % data)
typ, data = B.expunge()
check(typ == 'OK' and data[0] == b'1', 'bob expunges: %r' % data)
typ, data = A.noop()
check(A.untagged_responses.get('EXPUNGE') == [b'1'] or b'1' in (A.response('EXPUNGE')[1] or []), 'alice is told of the expunge')
B.logout(); A.logout()
print('DONE', flush=True)
`

// TestIMAPSharedFolder: two real imaplib sessions, alice's and bob's,
// over IMAPS against the built binary.
func TestIMAPSharedFolder(t *testing.T) {
	py := requireTool(t, "python3")
	s := startWithUsers(t)
	script := filepath.Join(t.TempDir(), "acl.py")
	writeFile(t, script, aclScript, 0o600)
	r := run(t, 60*time.Second, s.pythonTLSEnv(), "", py, script, "127.0.0.1", s.port("imaps"), alice, alicePass, bob, bobPass)
	if r.err != nil || !strings.Contains(r.stdout, "DONE") {
		t.Fatalf("acl script: %v\n%s", r.err, r)
	}
	t.Logf("%s", r.stdout)
}
