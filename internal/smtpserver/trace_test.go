package smtpserver

import (
	"crypto/tls"
	"net/netip"
	"testing"
	"time"
)

func TestTraceHeader(t *testing.T) {
	date := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("", 3600))
	for _, tc := range []struct {
		name string
		in   traceInfo
		want string
	}{
		{"one recipient, rDNS",
			traceInfo{from: "a@b.example", helo: "mail.b.example", rdns: "mx.b.example",
				remote: netip.MustParseAddr("192.0.2.1"), hostname: "mx.test", protocol: "ESMTP",
				id: "abc", rcpt: "x@test", date: date},
			"Return-Path: <a@b.example>\r\n" +
				"Received: from mail.b.example (mx.b.example [192.0.2.1])\r\n" +
				"\tby mx.test (letterbox) with ESMTP id abc\r\n" +
				"\tfor <x@test>; Wed, 04 Mar 2026 05:06:07 +0100\r\n"},
		{"several recipients, IPv6, no rDNS, TLS, hostile HELO",
			traceInfo{from: "", helo: "evil (x); y", remote: netip.MustParseAddr("2001:db8::1"),
				hostname: "mx.test", protocol: "ESMTPS", id: "abc", date: date,
				tls: &tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256}},
			"Return-Path: <>\r\n" +
				"Received: from evil??x???y ([IPv6:2001:db8::1])\r\n" +
				"\t(using TLS 1.3 with cipher TLS_AES_128_GCM_SHA256)\r\n" +
				"\tby mx.test (letterbox) with ESMTPS id abc; Wed, 04 Mar 2026 05:06:07 +0100\r\n"},
		{"LMTP over a unix socket",
			traceInfo{from: "a@b.example", helo: "mta", hostname: "mx.test", protocol: "LMTP", id: "abc",
				rcpt: "x@test", date: date},
			"Return-Path: <a@b.example>\r\n" +
				"Received: from mta\r\n" +
				"\tby mx.test (letterbox) with LMTP id abc\r\n" +
				"\tfor <x@test>; Wed, 04 Mar 2026 05:06:07 +0100\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(tc.in.header()); got != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

// RFC 3848 and RFC 6531 §3.7.3 "with" keywords.
func TestProtocolName(t *testing.T) {
	for _, tc := range []struct {
		mode            Mode
		utf8, tls, auth bool
		want            string
	}{
		{ModeSMTP, false, false, false, "ESMTP"},
		{ModeSMTP, false, true, false, "ESMTPS"},
		{ModeSubmission, false, true, true, "ESMTPSA"},
		{ModeSubmission, false, false, true, "ESMTPA"},
		{ModeSMTP, true, false, false, "UTF8SMTP"},
		{ModeSubmission, true, true, true, "UTF8SMTPSA"},
		{ModeLMTP, false, false, false, "LMTP"},
		{ModeLMTP, false, true, false, "LMTPS"},
		{ModeLMTP, true, false, false, "UTF8LMTP"},
	} {
		if got := protocolName(tc.mode, tc.utf8, tc.tls, tc.auth); got != tc.want {
			t.Errorf("protocolName(%v, utf8=%v, tls=%v, auth=%v) = %s, want %s",
				tc.mode, tc.utf8, tc.tls, tc.auth, got, tc.want)
		}
	}
}
