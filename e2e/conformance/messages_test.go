package conformance

import (
	"fmt"
	"strings"
)

// corpusMessage is one message both servers receive, with the
// INTERNALDATE set by APPEND so both have the same.
type corpusMessage struct {
	name  string
	date  string // INTERNALDATE for APPEND
	flags string
	body  string // written with \n; sent with CRLF
}

func (m corpusMessage) raw() string {
	return strings.ReplaceAll(m.body, "\n", "\r\n")
}

var corpus = []corpusMessage{
	{name: "plain", date: "01-Feb-2024 10:00:00 +0000", body: `Return-Path: <bob@example.org>
Date: Thu, 01 Feb 2024 10:00:00 +0000
From: Bob Sender <bob@example.org>
To: Alice <alice@example.com>
Subject: Plain hello
Message-ID: <plain-1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Hello Alice,

this is a plain text message about apples.
-- 
Bob
`},
	{name: "alternative", date: "02-Feb-2024 11:30:00 +0000", flags: `\Seen`, body: `Date: Fri, 02 Feb 2024 11:30:00 +0100
From: "Carol, C." <carol@example.net>
To: alice@example.com, Dave <dave@example.org>
Cc: eve@example.org
Reply-To: replies@example.net
Subject: Alternative bodies
Message-ID: <alt-2@example.net>
In-Reply-To: <plain-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt-boundary"

This is a multi-part message in MIME format.
--alt-boundary
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Caf=C3=A9 menu: bananas and cherries.
--alt-boundary
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<html><body><p>Caf=C3=A9 menu: <b>bananas</b> and cherries.</p></body></html>
--alt-boundary--
`},
	{name: "mixed-attachment", date: "03-Feb-2024 09:15:00 +0000", flags: `\Flagged $Work`, body: `Date: Sat, 03 Feb 2024 09:15:00 +0000
From: Frank <frank@example.com>
To: Alice <alice@example.com>
Subject: Report attached
Message-ID: <mixed-3@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mix"

--mix
Content-Type: text/plain; charset=us-ascii

See the attached report on durians.
--mix
Content-Type: application/pdf; name="report.pdf"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="report.pdf"
Content-ID: <report@example.com>
Content-Description: Quarterly report
Content-Language: en
Content-Location: http://example.com/report.pdf

JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0KZW5kc3RyZWFt
CmVuZG9iagp0cmFpbGVyCjw8Pj4KJSVFT0YK
--mix--
`},
	{name: "nested-rfc822", date: "04-Feb-2024 18:45:00 +0000", body: `Date: Sun, 04 Feb 2024 18:45:00 +0000
From: Grace <grace@example.com>
To: Alice <alice@example.com>
Subject: Fwd: Original message
Message-ID: <nested-4@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: text/plain

Forwarding the message below (elderberries).
--outer
Content-Type: message/rfc822

Date: Mon, 29 Jan 2024 08:00:00 -0500
From: Heidi <heidi@example.org>
To: Grace <grace@example.com>
Subject: Original message
Message-ID: <orig@example.org>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=us-ascii

Inner plain figs.
--inner
Content-Type: text/html; charset=us-ascii

<p>Inner html figs.</p>
--inner--

--outer--
`},
	{name: "encoded-words", date: "05-Feb-2024 07:00:00 +0000", body: `Date: Mon, 05 Feb 2024 07:00:00 +0000
From: =?UTF-8?B?SsO2cmcgTcO8bGxlcg==?= <joerg@example.de>
To: =?ISO-8859-1?Q?Andr=E9?= <andre@example.fr>, alice@example.com
Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?= =?UTF-8?B?IOKCrDEwMA==?=
Message-ID: <enc-5@example.de>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

R3LDvMOfZSB1bmQgR3JhcGVmcnVpdCE=
`},
	{name: "groups", date: "06-Feb-2024 12:00:00 +0000", body: `Date: Tue, 06 Feb 2024 12:00:00 +0000
From: Ivan <ivan@example.com>
To: undisclosed-recipients:;
Cc: Friends: judy@example.com, "Karl K" <karl@example.com>;, mallory@example.com
Subject: Group addresses
Message-ID: <groups-6@example.com>

Groups body with kiwis.
`},
	{name: "missing-headers", date: "07-Feb-2024 23:59:59 +0000", body: `X-Note: no From, no Date, no Subject, no Message-ID

Only a body with lemons.
`},
	{name: "malformed", date: "08-Feb-2024 00:00:01 +0000", body: `From: <<broken@@example..com
To: "unterminated <alice@example.com>
Date: not a date at all
Subject: Malformed	 headers   here
Content-Type: multipart/mixed
Content-Transfer-Encoding: x-unknown
Broken header line without colon

Body of a multipart without boundary, mangoes.
`},
	{name: "8bit", date: "09-Feb-2024 08:08:08 +0000", flags: `\Answered`, body: `Date: Fri, 09 Feb 2024 08:08:08 +0000
From: Łukasz <lukasz@example.pl>
To: alice@example.com
Subject: Zażółć gęślą jaźń
Message-ID: <8bit-9@example.pl>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Zażółć gęślą jaźń — nectarines. Größe.
`},
	{name: "large", date: "10-Feb-2024 10:10:10 +0000", body: `Date: Sat, 10 Feb 2024 10:10:10 +0000
From: Bob Sender <bob@example.org>
To: alice@example.com
Subject: A larger message
Message-ID: <large-10@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

` + largeBody()},
	{name: "dots", date: "11-Feb-2024 11:11:11 +0000", body: `Date: Sun, 11 Feb 2024 11:11:11 +0000
From: Bob Sender <bob@example.org>
To: alice@example.com
Subject: Lines starting with dots
Message-ID: <dots-11@example.org>

.leading dot
..two dots
.
last line
`},
}

func largeBody() string {
	var b strings.Builder
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&b, "line %03d of the larger message, oranges and more text to pad it\n", i)
	}
	return b.String()
}
