// Package browsertest drives a real headless Chromium for end-to-end tests of
// onair's browser pages (clients/web) with chromedp.
//
// The browser gets a fake camera and microphone (a test pattern with a clock
// and a beeping tone, 30 fps), grants media permissions without a prompt, and
// may use the loopback interface for WebRTC, so a test can publish over WHIP
// and play over WHEP against a server on 127.0.0.1. The flags follow
// shared/notes/real-peers.md, section 1.
//
// A test that needs the browser fails when Chromium is missing; it never skips,
// because a skipped browser test hides a broken page.
//
//	browser := browsertest.Launch(t)
//	tab := browsertest.NewTab(t, browser)
//	browsertest.Navigate(t, tab, srv.URL+"/watch/demo")
//	st := browsertest.WaitState(t, tab, "", func(s map[string]any) bool {
//		return s["status"] == "live" && browsertest.Num(s, "framesDecoded") > 0
//	}, 15*time.Second)
package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian's chromium package installs the browser.
const ChromiumPath = "/usr/bin/chromium"

// LaunchTimeout bounds the start of the browser. A loaded CI machine took up
// to 35 s (real-peers.md, "Measured timings").
const LaunchTimeout = 60 * time.Second

// ArtifactsEnv names the environment variable that holds the folder for
// screenshots. Without it, Screenshot writes to os.TempDir()/onair-artifacts.
const ArtifactsEnv = "ONAIR_ARTIFACTS"

// navigateTimeout bounds one page load.
const navigateTimeout = 30 * time.Second

// Flags returns the Chromium command-line options that Launch uses: chromedp's
// defaults plus the WebRTC test flags. It is exported so that a test that needs
// another flag can build its own allocator from the same list.
func Flags() []chromedp.ExecAllocatorOption {
	opts := append([]chromedp.ExecAllocatorOption{}, chromedp.DefaultExecAllocatorOptions[:]...)
	return append(opts,
		chromedp.ExecPath(ChromiumPath),
		// The allocator creates a fresh temporary --user-data-dir for each
		// browser and removes it (after killing leftover children) on exit.
		chromedp.Flag("headless", "new"),
		chromedp.Flag("no-sandbox", true), // required as root; harmless otherwise
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("use-fake-device-for-media-stream", "fps=30"), // default is 20 fps
		chromedp.Flag("use-fake-ui-for-media-stream", true),         // grant camera and microphone
		chromedp.Flag("allow-loopback-in-peer-connection", true),    // ICE on lo (CI containers)
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		// Real addresses in SDP logs instead of mDNS .local names; keep the
		// features that chromedp's defaults turn off.
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,WebRtcHideLocalIpsWithMdns"),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("window-size", "1280,900"),
	)
}

// Launch starts Chromium and returns a browser context. Tabs come from NewTab.
// The browser is closed and its profile removed when the test ends.
//
// Launch fails the test when /usr/bin/chromium is missing or does not start
// within LaunchTimeout.
func Launch(t testing.TB) context.Context {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		t.Fatalf("browsertest: Chromium not found at %s (%v); install it with:\n"+
			"  apt-get install -y --no-install-recommends chromium fonts-dejavu-core", ChromiumPath, err)
	}

	output := &tailBuffer{max: 64 << 10}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		append(Flags(), chromedp.CombinedOutput(output))...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	// chromedp's cancel funcs wait on a token that only the first call gets.
	cancelBrowser = sync.OnceFunc(cancelBrowser)
	cancelAlloc = sync.OnceFunc(cancelAlloc)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		if t.Failed() {
			if out := strings.TrimSpace(output.String()); out != "" {
				t.Logf("browsertest: Chromium output (last %d bytes):\n%s", output.max, out)
			}
		}
	})

	// The first action starts the browser and binds its life to the context
	// it gets, so it must not carry a deadline: time it out from outside.
	begin := time.Now()
	if err := within(LaunchTimeout, cancelBrowser, func() error { return chromedp.Do(browserCtx) }); err != nil {
		t.Fatalf("browsertest: starting Chromium: %v\n%s", err, output.String())
	}
	t.Logf("browsertest: Chromium started in %v", time.Since(begin).Round(time.Millisecond))
	return browserCtx
}

// NewTab opens a new tab in the browser of browserCtx and forwards the page's
// console messages and uncaught exceptions to t.Logf. The tab closes when the
// test ends.
func NewTab(t testing.TB, browserCtx context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(browserCtx)
	cancel = sync.OnceFunc(cancel)
	// The first action opens the tab and binds it to the context it gets, so
	// that context must be tab itself, timed out from outside.
	if err := within(navigateTimeout, cancel, func() error { return chromedp.Do(tab) }); err != nil {
		t.Fatalf("browsertest: opening a tab: %v", err)
	}

	messages := chromedp.Console(tab)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			where := ""
			if m.URL != "" {
				where = fmt.Sprintf(" (%s:%d)", shortURL(m.URL), m.Line+1)
			}
			t.Logf("browser %s%s", m, where)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return tab
}

// Navigate loads url in tab and waits for its load event.
func Navigate(t testing.TB, tab context.Context, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, navigateTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("browsertest: navigating to %s: %v", url, err)
	}
}

// Viewport resizes tab's viewport to width x height CSS pixels, as a phone
// (touch, mobile) when mobile is true.
func Viewport(t testing.TB, tab context.Context, width, height int64, mobile bool) {
	t.Helper()
	var opts []chromedp.EmulateViewportOption
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	if err := chromedp.Do(tab, chromedp.EmulateViewport(width, height, opts...)); err != nil {
		t.Fatalf("browsertest: setting the viewport to %dx%d: %v", width, height, err)
	}
}

// Eval evaluates a JavaScript expression in tab and decodes its JSON value
// into T.
func Eval[T any](t testing.TB, tab context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("browsertest: evaluating %q: %v", expr, err)
	}
	return v
}

// WaitState evaluates expr (window.state when expr is "") every 100 ms until
// cond returns true for its value, and returns that value. It fails the test
// with the last value when timeout passes first. Numbers in the map are
// float64 (see Num).
func WaitState(t testing.TB, tab context.Context, expr string, cond func(map[string]any) bool, timeout time.Duration) map[string]any {
	t.Helper()
	if expr == "" {
		expr = "window.state"
	}
	deadline := time.Now().Add(timeout)
	var last map[string]any
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(tab, 5*time.Second)
		st, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](expr))
		cancel()
		if err == nil && st != nil {
			last, lastErr = st, nil
			if cond(st) {
				return st
			}
		} else if err != nil {
			lastErr = err
			if tab.Err() != nil {
				t.Fatalf("browsertest: waiting on %s: the tab is gone: %v", expr, err)
			}
		}
		if time.Now().After(deadline) {
			if lastErr != nil && last == nil {
				t.Fatalf("browsertest: %s did not meet the condition within %v; evaluating it failed: %v", expr, timeout, lastErr)
			}
			t.Fatalf("browsertest: %s did not meet the condition within %v; last value: %s", expr, timeout, formatState(last))
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-tab.Done():
			t.Fatalf("browsertest: waiting on %s: %v; last value: %s", expr, tab.Err(), formatState(last))
		}
	}
}

// Num reads a numeric field of a state map; it returns 0 when the field is
// missing or not a number.
func Num(state map[string]any, key string) float64 {
	f, _ := state[key].(float64)
	return f
}

// Str reads a string field of a state map; it returns "" when the field is
// missing or not a string.
func Str(state map[string]any, key string) string {
	s, _ := state[key].(string)
	return s
}

// Screenshot saves a PNG of tab's viewport as <dir>/<test name>-<name>.png,
// where dir is $ONAIR_ARTIFACTS or os.TempDir()/onair-artifacts, logs the
// path and returns it.
func Screenshot(t testing.TB, tab context.Context, name string) string {
	t.Helper()
	return screenshot(t, tab, name, chromedp.CaptureScreenshot())
}

// FullScreenshot is like Screenshot for the whole page, beyond the viewport.
func FullScreenshot(t testing.TB, tab context.Context, name string) string {
	t.Helper()
	return screenshot(t, tab, name, chromedp.FullScreenshot(100))
}

func screenshot(t testing.TB, tab context.Context, name string, capture chromedp.Action[[]byte]) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, capture)
	if err != nil {
		t.Fatalf("browsertest: screenshot %q: %v", name, err)
	}
	dir := ArtifactsDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("browsertest: screenshot %q: %v", name, err)
	}
	path := filepath.Join(dir, fileName(t.Name())+"-"+fileName(name)+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("browsertest: screenshot %q: %v", name, err)
	}
	t.Logf("browsertest: screenshot %s", path)
	return path
}

// ArtifactsDir returns the folder where Screenshot writes.
func ArtifactsDir() string {
	if dir := os.Getenv(ArtifactsEnv); dir != "" {
		return dir
	}
	return filepath.Join(os.TempDir(), "onair-artifacts")
}

// fileName makes s safe as a file name.
func fileName(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
	if s == "" {
		return "screenshot"
	}
	return s
}

func formatState(st map[string]any) string {
	if st == nil {
		return "<none>"
	}
	return fmt.Sprintf("%v", st)
}

// shortURL keeps the path of a page URL, so log lines stay readable.
func shortURL(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
			return u[i+3+j:]
		}
	}
	return u
}

// tailBuffer keeps the last max bytes written to it; the browser's output
// is shown only when a test fails.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.max; over > 0 {
		b.buf.Next(over)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// within runs start, which must return once cancel is called, and calls
// cancel when start has not returned after timeout.
func within(timeout time.Duration, cancel func(), start func() error) error {
	done := make(chan error, 1)
	go func() { done <- start() }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		cancel()
		<-done
		return fmt.Errorf("no answer within %v", timeout)
	}
}

// NoSideScroll fails the test when the page is wider than its viewport, the
// usual sign of a layout that breaks on a phone.
func NoSideScroll(t testing.TB, tab context.Context) {
	t.Helper()
	st := Eval[map[string]any](t, tab, `({scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth})`)
	if sw, iw := Num(st, "scrollWidth"), Num(st, "innerWidth"); sw > iw {
		t.Errorf("page is %v px wide in a %v px viewport", sw, iw)
	}
}
