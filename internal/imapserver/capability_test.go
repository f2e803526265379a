package imapserver_test

import (
	"go/parser"
	"go/token"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/imapserver"
)

// capabilityTests names, for every capability the server may advertise,
// the test that exercises it. TestCapabilitiesAreTested fails when the
// server advertises a capability missing here or whose test does not exist.
var capabilityTests = map[string]string{
	"IMAP4rev1":             "TestSeedFlow",
	"IMAP4rev2":             "TestEnableIMAP4rev2",
	"LITERAL+":              "TestLiteralPlus",
	"SASL-IR":               "TestAuthenticatePlain",
	"AUTH=PLAIN":            "TestAuthenticatePlain",
	"ID":                    "TestIDAndNamespace",
	"ENABLE":                "TestEnableIMAP4rev2",
	"IDLE":                  "TestIdle",
	"NAMESPACE":             "TestIDAndNamespace",
	"UNSELECT":              "TestUnselect",
	"UIDPLUS":               "TestUIDPlus",
	"MOVE":                  "TestMove",
	"CHILDREN":              "TestListChildren",
	"SPECIAL-USE":           "TestSpecialUse",
	"CREATE-SPECIAL-USE":    "TestSpecialUse",
	"LIST-EXTENDED":         "TestListExtended",
	"LIST-STATUS":           "TestListExtended",
	"ESEARCH":               "TestESearch",
	"SEARCHRES":             "TestSearchRes",
	"STATUS=SIZE":           "TestStatus",
	"BINARY":                "TestBinary",
	"UTF8=ACCEPT":           "TestUTF8Accept",
	"CONDSTORE":             "TestCondstore",
	"QRESYNC":               "TestQresync",
	"APPENDLIMIT":           "TestAppendLimits",
	"QUOTA":                 "TestQuota",
	"QUOTA=RES-STORAGE":     "TestQuotaStorage",
	"QUOTA=RES-MESSAGE":     "TestQuota",
	"MULTIAPPEND":           "TestMultiAppend",
	"CATENATE":              "TestCatenate",
	"URLAUTH":               "TestURLAuth",
	"STARTTLS":              "TestStartTLS",
	"LOGINDISABLED":         "TestLoginDisabled",
	"NOTIFY":                "TestNotify",
	"METADATA":              "TestMetadata",
	"METADATA-SERVER":       "TestMetadataServer",
	"SORT":                  "TestSort",
	"SORT=DISPLAY":          "TestSort",
	"ESORT":                 "TestSort",
	"THREAD=ORDEREDSUBJECT": "TestSort",
	"THREAD=REFERENCES":     "TestSort",
	"CONTEXT=SEARCH":        "TestSearchUpdate",
	"OBJECTID":              "TestObjectID",
	"SAVEDATE":              "TestSaveDate",
	"PREVIEW":               "TestPreview",
	"CONTEXT=SORT":          "TestSearchUpdate",
	"COMPRESS=DEFLATE":      "TestCompress",
	"ACL":                   "TestACLCommands",
	"RIGHTS=texk":           "TestACLRightsLetters",
	"LIST-MYRIGHTS":         "TestListMyRights",
	"WITHIN":                "TestWithin",
	"LITERAL-":              "TestLiteralMinus", // with Limits.LiteralMinus, instead of LITERAL+
	"REPLACE":               "TestReplace",
	"I18NLEVEL=1":           "TestSearchCasemap",
	"UIDONLY":               "TestUIDOnly",
}

// testFunctions lists the Test functions of this package's test files.
func testFunctions(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(fset, f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for name, obj := range af.Scope.Objects {
			if obj.Kind == 5 /* ast.Fun */ && strings.HasPrefix(name, "Test") {
				names[name] = true
			}
		}
	}
	return names
}

func TestCapabilitiesAreTested(t *testing.T) {
	tests := testFunctions(t)
	check := func(line string) {
		t.Helper()
		caps, ok := strings.CutPrefix(line, "* CAPABILITY ")
		if !ok {
			t.Fatalf("not a CAPABILITY response: %q", line)
		}
		for _, c := range strings.Fields(caps) {
			key := c
			if strings.HasPrefix(c, "APPENDLIMIT=") {
				key = "APPENDLIMIT"
			}
			name, ok := capabilityTests[key]
			if !ok {
				t.Errorf("capability %s is advertised but has no test in capabilityTests", c)
				continue
			}
			if !tests[name] {
				t.Errorf("capability %s names test %s, which does not exist", c, name)
			}
		}
	}
	// Before login on loopback, before STARTTLS where plaintext is refused,
	// and after login.
	h := newHarness(t)
	c := h.dial()
	c.send("a1 CAPABILITY")
	check(c.readLine())
	c.expect("a1 OK CAPABILITY completed")
	c = h.login()
	c.send("a2 CAPABILITY")
	check(c.readLine())
	c.expect("a2 OK CAPABILITY completed")
	h2 := newHarness(t, func(o *imapserver.Options) {
		o.AllowPlaintextAuth = func(netip.Addr, bool) bool { return false }
	})
	c = h2.dial()
	c.send("a3 CAPABILITY")
	check(c.readLine())
	c.expect("a3 OK CAPABILITY completed")
}

func TestBinary(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", multipartMsg)
	c := h.login()
	msg := "Subject: bin\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\x01\x02\x03\r\n"
	c.send("a1 APPEND INBOX ~{" + itoa(len(msg)) + "+}\r\n" + msg)
	c.expect(`~a1 OK \[APPENDUID \d+ 2\] APPEND completed`)
	c.selectInbox("a2")
	c.run(`
C: a3 FETCH 1 (BINARY.PEEK[2]<1.2> BINARY.SIZE[2])
S: * 1 FETCH (BINARY[2]<1> ~{2}
S~ .. BINARY.SIZE\[2\] 4\)
S: a3 OK FETCH completed
C: a4 FETCH 2 (BINARY.SIZE[1] BINARY.SIZE[])
S: * 2 FETCH (BINARY.SIZE[1] 5 BINARY.SIZE[] ` + itoa(len(msg)) + `)
S: a4 OK FETCH completed
C: a5 FETCH 1 FLAGS
S: * 1 FETCH (FLAGS (\Recent))
S: a5 OK FETCH completed
`)
}
