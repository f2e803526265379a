//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestWebmailBenchmarks asserts the two numbers of issue 10 in headless
// Chromium against the built binary: from pressing "Log in" to the frame
// that paints the newest messages of a 10,000-message INBOX (the first
// 50 fetched) under 1 s, once just after the server started (nothing
// cached) and once more after logging in again; and a message delivered
// over SMTP painted in the open page within 1 s of its 250, five times.
// It also scrolls the virtualised list to the middle of the folder.
func TestWebmailBenchmarks(t *testing.T) {
	ctx, cancel := browser(t)
	defer cancel()
	s := startWithUsers(t)

	// 10,000 messages into alice's INBOX with `letterbox import` (mbox;
	// the From_ dates make message 9999 the newest).
	const n = 10000
	var b strings.Builder
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		d := start.Add(time.Duration(i) * time.Minute)
		fmt.Fprintf(&b, "From sender@remote.example %s\nFrom: Sender %d <sender%d@remote.example>\nTo: %s\nSubject: bulk message %05d\nDate: %s\nMessage-ID: <bulk%d@e2e.example>\n\nbody of message %d\n\n",
			d.Format(time.ANSIC), i%97, i%97, alice, i, d.Format(time.RFC1123Z), i, i)
	}
	mbox := filepath.Join(t.TempDir(), "bulk.mbox")
	if err := os.WriteFile(mbox, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	s.stop()
	t0 := time.Now()
	s.importCmd(t, nil, alice, mbox)
	t.Logf("imported %d messages in %v", n, time.Since(t0))
	s.start()

	base := "https://" + s.addr("jmap") + "/"
	if err := chromedp.Do(ctx, chromedp.Navigate(base), chromedp.WaitVisible(chromedp.ID("login-user"))); err != nil {
		t.Fatal(err)
	}
	// firstScreen logs in and returns the time, measured in the page, from
	// the click to the animation frame in which the newest message is in
	// the list with the folder's total, the first 50 rows fetched.
	firstScreen := func(label string) time.Duration {
		t.Helper()
		err := chromedp.Do(ctx,
			chromedp.SetValue(chromedp.ID("login-user"), alice),
			chromedp.SetValue(chromedp.ID("login-pass"), alicePass),
			js(`window.benchT1 = 0; window.benchT0 = performance.now();
				(function frame() {
					const first = document.querySelector('#messages li[data-id] .subj');
					if (first && first.textContent === 'bulk message 09999' && document.getElementById('list-count').textContent === '(10000 messages)' &&
						lst.loaded.has(0) && lst.byPos.length >= 50) { window.benchT1 = performance.now(); return; }
					requestAnimationFrame(frame);
				})();
				document.getElementById('login-submit').click()`),
			until(`window.benchT1 > 0`),
		)
		if err != nil {
			t.Fatalf("%s first screen: %v\n%s", label, err, pageState(ctx))
		}
		ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.benchT1 - window.benchT0`))
		if err != nil {
			t.Fatal(err)
		}
		if timing, err := chromedp.Run(ctx, chromedp.Evaluate[string](`performance.getEntriesByType('resource').filter((e) => e.startTime >= window.benchT0).map((e) => e.name.replace(/^https:\/\/[^/]+/, '') + ' at ' + Math.round(e.startTime - window.benchT0) + ' ms took ' + Math.round(e.duration) + ' ms (wait ' + Math.round(e.responseStart - e.requestStart) + ')').join('; ')`)); err == nil {
			t.Logf("%s requests: %s", label, timing)
		}
		d := time.Duration(ms * float64(time.Millisecond))
		t.Logf("%s: login to the painted newest 50 of %d messages: %v", label, n, d)
		if d >= time.Second {
			t.Errorf("%s: login to painted list took %v, want under 1 s", label, d)
		}
		return d
	}
	firstScreen("cold (server just started)")
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#messages li').length`))
	if err != nil || rows > 60 {
		t.Errorf("the list keeps %d rows in the DOM for %d messages (%v); want only those in view", rows, n, err)
	}
	// Scroll to the middle: the rows there are fetched and painted.
	err = chromedp.Do(ctx,
		js(`document.getElementById('list-scroll').scrollTop = 5000 * 58`),
		until(`[...document.querySelectorAll('#messages li[data-id] .subj')].some(e => e.textContent === 'bulk message 04999')`),
	)
	if err != nil {
		t.Fatalf("scrolling to the middle: %v\n%s", err, pageState(ctx))
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("logout-btn")),
		chromedp.WaitVisible(chromedp.ID("login-user")),
	)
	if err != nil {
		t.Fatal(err)
	}
	firstScreen("warm (second login)")

	// Delivery to paint: the page notes the wall clock of the frame that
	// first shows the subject; the test notes the 250.
	var worst time.Duration
	for i := 0; i < 5; i++ {
		subj := fmt.Sprintf("live %d", i)
		err := chromedp.Do(ctx, js(fmt.Sprintf(`window.liveAt = 0; (function frame() {
			if ([...document.querySelectorAll('#messages .subj')].some(e => e.textContent === %q)) { window.liveAt = Date.now(); return; }
			requestAnimationFrame(frame);
		})()`, subj)))
		if err != nil {
			t.Fatal(err)
		}
		s.mustSend(t, alice, message(bob, alice, subj, "hello\n"))
		acked := time.Now()
		if err := chromedp.Do(ctx, until(`window.liveAt > 0`)); err != nil {
			t.Fatalf("%s not shown: %v\n%s", subj, err, pageState(ctx))
		}
		at, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.liveAt`))
		if err != nil {
			t.Fatal(err)
		}
		d := time.UnixMilli(int64(at)).Sub(acked)
		t.Logf("%s painted %v after the SMTP 250 (10,000-message INBOX)", subj, d)
		worst = max(worst, d)
	}
	if worst >= time.Second {
		t.Errorf("a delivered message took %v to show, want under 1 s", worst)
	}
}
