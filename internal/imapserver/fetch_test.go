package imapserver_test

import "testing"

const multipartMsg = "From: Bob <bob@example.org>\r\n" +
	"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=XX\r\n" +
	"\r\n" +
	"--XX\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"\r\n" +
	"plain body\r\n" +
	"--XX\r\n" +
	"Content-Type: application/octet-stream\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"AAECAw==\r\n" +
	"--XX--\r\n"

func TestFetchItems(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1)
	h.deliver("INBOX", multipartMsg)
	c := h.login()
	c.run(`
# EXAMINE shows the unclaimed messages \Recent without claiming them.
C: a0 EXAMINE INBOX
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S: a0 OK [READ-ONLY] EXAMINE completed
C: a1 FETCH 1 (UID FLAGS RFC822.SIZE)
S: * 1 FETCH (UID 1 FLAGS (\Recent) RFC822.SIZE 169)
S: a1 OK FETCH completed
C: a2 FETCH 1 ENVELOPE
S: * 1 FETCH (ENVELOPE ("Mon, 02 Jan 2006 15:04:05 -0700" "Hello there" (("Bob" NIL "bob" "example.org")) (("Bob" NIL "bob" "example.org")) (("Bob" NIL "bob" "example.org")) ((NIL NIL "alice" "example.com")) NIL NIL NIL "<1@example.org>"))
S: a2 OK FETCH completed
C: a3 FETCH 2 BODYSTRUCTURE
S: * 2 FETCH (BODYSTRUCTURE (("text" "plain" ("charset" "utf-8") NIL NIL "7BIT" 10 0 NIL NIL NIL NIL)("application" "octet-stream" NIL NIL NIL "BASE64" 8 NIL NIL NIL NIL) "mixed" ("boundary" "XX") NIL NIL NIL))
S: a3 OK FETCH completed
C: a4 FETCH 2 (BODY[1] BODY[2.MIME] BODY[HEADER.FIELDS (SUBJECT)])
S: * 2 FETCH (BODY[1] {10}
S: plain body BODY[2.MIME] {77}
S: Content-Type: application/octet-stream
S: Content-Transfer-Encoding: base64
S: 
S:  BODY[HEADER.FIELDS (SUBJECT)] {40}
S: Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=
S: 
S: )
S: a4 OK FETCH completed
C: a5 FETCH 1 (BODY[TEXT]<0.8> BODY[]<1000.5> BODY[3])
S: * 1 FETCH (BODY[TEXT]<0> {8}
S: Hi Alice BODY[]<1000> {0}
S:  BODY[3] {0}
S: )
S: a5 OK FETCH completed
C: a6 FETCH 2 (BINARY[2] BINARY.SIZE[2] BINARY.SIZE[1])
S: * 2 FETCH (BINARY[2] ~{4}
S~ .... BINARY.SIZE\[2\] 4 BINARY.SIZE\[1\] 10\)
S: a6 OK FETCH completed
C: a7 FETCH 1 (BODY[] FLAGS)
S: * 1 FETCH (BODY[] {169}
S: From: Bob <bob@example.org>
S: To: alice@example.com
S: Subject: Hello there
S: Date: Mon, 02 Jan 2006 15:04:05 -0700
S: Message-ID: <1@example.org>
S: 
S: Hi Alice,
S: how are you?
S:  FLAGS (\Recent))
S: a7 OK FETCH completed
C: a8 FETCH 3 FLAGS
S: a8 BAD Invalid message sequence number
C: a9 UID FETCH 1:* (FLAGS)
S: * 1 FETCH (UID 1 FLAGS (\Recent))
S: * 2 FETCH (UID 2 FLAGS (\Recent))
S: a9 OK UID FETCH completed
C: a10 UID FETCH 5:7 (FLAGS)
S: a10 OK UID FETCH completed
C: a11 FETCH 1 (INTERNALDATE BODY)
S~ \* 1 FETCH \(INTERNALDATE "[ 0-9]\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d [-+]\d{4}" BODY \("text" "plain" \("charset" "us-ascii"\) NIL NIL "7BIT" 25 2\)\)
S: a11 OK FETCH completed
`)
}

func TestFetchSetsSeen(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1)
	c := h.login()
	c.run(`
C: a0 SELECT INBOX
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S: a0 OK [READ-WRITE] SELECT completed
C: a1 FETCH 1 (BODY.PEEK[HEADER.FIELDS (FROM)])
S: * 1 FETCH (BODY[HEADER.FIELDS (FROM)] {31}
S: From: Bob <bob@example.org>
S: 
S: )
S: a1 OK FETCH completed
C: a2 FETCH 1 FLAGS
S: * 1 FETCH (FLAGS (\Recent))
S: a2 OK FETCH completed
C: a3 FETCH 1 BODY[TEXT]
S: * 1 FETCH (BODY[TEXT] {25}
S: Hi Alice,
S: how are you?
S:  FLAGS (\Seen \Recent))
S: a3 OK FETCH completed
`)
}
