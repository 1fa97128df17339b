package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/onair-live/onair/internal/browsertest"
)

// Chromium studios publish three simulcast layers (q, h, f: 320, 640 and
// 1280 wide from the 1280x720 fake camera) through the real server, and
// Chromium watch pages choose among them through the WHEP layer extension.

// pcSpy keeps the page's peer connections in window.pcs_, for getStats from
// the test.
const pcSpy = `(() => {
  const P = window.RTCPeerConnection;
  window.pcs_ = [];
  window.RTCPeerConnection = function (...a) { const pc = new P(...a); window.pcs_.push(pc); return pc; };
  window.RTCPeerConnection.prototype = P.prototype;
})()`

// frameWatch watches the first playing slot of a watch page as
// window.frames_: it samples the video's inbound-rtp every 100 ms and keeps
// the longest time framesDecoded stood still (from the stats' own
// timestamps, between the first and the last sample that saw the same
// count: a lower bound that a busy page cannot inflate), and counts the
// frames presented (requestVideoFrameCallback) with the longest wait between
// two and their widths. The samples are kept, so a failure can tell a
// stall in the network (packets, no frames) from one in the decoder.
const frameWatch = `(() => {
  const v = document.querySelector('#stage-grid .tile.active video');
  if (!v || !v.requestVideoFrameCallback) return false;
  const m = window.frames_ = { count: 0, maxGapMs: 0, last: 0, width: 0, widths: {}, samples: [], decoded: 0, since: 0, maxStallMs: 0 };
  const cb = (now, meta) => {
    if (m.last) m.maxGapMs = Math.max(m.maxGapMs, now - m.last);
    m.last = now;
    m.count++;
    m.width = meta.width;
    m.widths[meta.width] = (m.widths[meta.width] || 0) + 1;
    v.requestVideoFrameCallback(cb);
  };
  v.requestVideoFrameCallback(cb);
  m.video = v;
  const pc = window.pcs_[window.pcs_.length - 1];
  setInterval(async () => {
    (await pc.getStats()).forEach((x) => {
      if (x.type !== 'inbound-rtp' || x.kind !== 'video' || !x.framesReceived) return;
      if (x.framesDecoded !== m.decoded || !m.since) {
        m.decoded = x.framesDecoded;
        m.since = x.timestamp;
      }
      m.maxStallMs = Math.max(m.maxStallMs, x.timestamp - m.since);
      m.samples.push({ t: Math.round(x.timestamp), received: x.framesReceived, decoded: x.framesDecoded,
        keyframes: x.keyFramesDecoded, packets: x.packetsReceived, lost: x.packetsLost, nacks: x.nackCount,
        plis: x.pliCount, width: x.frameWidth });
      if (m.samples.length > 600) m.samples.shift();
    });
  }, 100);
  return true;
})()`

// frameState reads window.frames_, with the video's own count of frames.
const frameState = `(() => {
  const m = window.frames_;
  const q = m.video.getVideoPlaybackQuality();
  return { count: m.count, maxGapMs: m.maxGapMs, maxStallMs: m.maxStallMs, width: m.width, widths: m.widths,
    decoded: m.decoded, samples: m.samples, total: q.totalVideoFrames };
})()`

// layerPosts records the bodies of the page's POSTs to its layer resource
// in window.layerPosts_.
const layerPosts = `(() => {
  window.layerPosts_ = [];
  const orig = window.fetch;
  window.fetch = (url, init) => {
    if (init && init.method === 'POST' && String(url).endsWith('/layer')) window.layerPosts_.push(JSON.parse(init.body));
    return orig(url, init);
  };
  return true;
})()`

// goLiveSimulcast opens a studio tab on path and waits until it sends the
// layers rids ("q,h,f"), each with frames; it returns them, lowest first.
func goLiveSimulcast(t *testing.T, browser context.Context, path, rids string) (context.Context, []map[string]any) {
	t.Helper()
	host := browsertest.NewTab(t, browser)
	spyPeerConnections(t, host)
	browsertest.Navigate(t, host, path)
	var layers []map[string]any
	browsertest.WaitState(t, host, "", func(s map[string]any) bool {
		layers = layers[:0]
		ls, _ := s["layers"].([]any)
		sending := 0
		for _, l := range ls {
			m := l.(map[string]any)
			layers = append(layers, m)
			if browsertest.Num(m, "kbps") > 0 && browsertest.Num(m, "framesEncoded") > 0 {
				sending++
			}
		}
		return s["status"] == "live" && s["simulcast"] == true && sending == strings.Count(rids, ",")+1
	}, 60*time.Second)
	var got []string
	for _, m := range layers {
		got = append(got, browsertest.Str(m, "rid"))
		t.Logf("studio sends layer %v: %vx%v %v fps %v kbit/s, %v (limited by %v)", m["rid"], m["width"], m["height"], m["fps"], m["kbps"], m["scalabilityMode"], m["qualityLimitationReason"])
	}
	if strings.Join(got, ",") != rids {
		t.Fatalf("studio layers %v, want %s", got, rids)
	}
	return host, layers
}

func spyPeerConnections(t *testing.T, tab context.Context) {
	t.Helper()
	if _, err := chromedp.Call(tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: pcSpy}); err != nil {
		t.Fatal(err)
	}
}

// watchPlaying opens a watch tab on path and waits for its first frame and
// the layer resource.
func watchPlaying(t *testing.T, browser context.Context, path string) (context.Context, map[string]any) {
	t.Helper()
	viewer := browsertest.NewTab(t, browser)
	spyPeerConnections(t, viewer)
	browsertest.Navigate(t, viewer, path)
	st := browsertest.WaitState(t, viewer, "", func(s map[string]any) bool {
		q, _ := s["quality"].(map[string]any)
		return s["status"] == "live" && browsertest.Num(s, "framesDecoded") > 0 && q["available"] == true
	}, 30*time.Second)
	t.Logf("FIGURE viewer: first frame %v ms after the WHEP POST, %vx%v %v", st["firstFrameMs"], st["width"], st["height"], st["codec"])
	return viewer, st
}

// waitWidth waits until the viewer's slot 0 receives frames width wide
// (getStats), and returns how long that took.
func waitWidth(t *testing.T, viewer context.Context, width float64, timeout time.Duration) time.Duration {
	t.Helper()
	at := time.Now()
	browsertest.WaitState(t, viewer, "", func(s map[string]any) bool { return browsertest.Num(s, "width") == width }, timeout)
	return time.Since(at)
}

// layerPost waits until the page has POSTed a layer request with
// encodingId enc and maxEncodingId max ("" for none), after the first since
// that layerPosts recorded; it returns how many are recorded then.
func layerPost(t *testing.T, viewer context.Context, since int, enc, max string) int {
	t.Helper()
	n := 0
	browsertest.WaitState(t, viewer, `({posts: window.layerPosts_})`, func(s map[string]any) bool {
		ps, _ := s["posts"].([]any)
		n = len(ps)
		for _, p := range ps[min(since, len(ps)):] {
			p := p.(map[string]any)
			if p["encodingId"] == enc && browsertest.Str(p, "maxEncodingId") == max && p["mediaId"] == "0" {
				return true
			}
		}
		return false
	}, 5*time.Second)
	return n
}

// A studio sends q, h and f; a viewer is switched high → low → high → auto
// through the layer resource and keeps decoding across every switch (its
// decoder never stands still for 1 s), 1280 or 320 wide as pinned. Its
// quality menu pins a layer; as a phone-sized player it asks for no more
// than the middle layer and is lifted when it grows again; minimised, it
// asks for the low one.
func TestBrowserSimulcast(t *testing.T) {
	n := startNode(t, nil)
	chromium := browsertest.Launch(t)
	num := browsertest.Num

	host, layers := goLiveSimulcast(t, chromium, n.base+"/studio/simul?autostart=1&key=simul-key", "q,h,f")
	for i, want := range []float64{320, 640, 1280} {
		if w := num(layers[i], "width"); w != want || layers[i]["scalabilityMode"] != "L1T1" {
			t.Errorf("layer %v is %v wide, %v; want %v wide, L1T1", layers[i]["rid"], w, layers[i]["scalabilityMode"], want)
		}
	}
	rows := browsertest.Eval[string](t, host, `document.getElementById('layer-stats').innerText`)
	if !strings.Contains(rows, "1280×720") || !strings.Contains(rows, "320×180") || !strings.Contains(rows, "kbit/s") {
		t.Errorf("the studio's layer table: %q", rows)
	}
	browsertest.FullScreenshot(t, host, "studio-simulcast")

	viewer, st := watchPlaying(t, chromium, n.base+"/watch/simul")
	layerURL := browsertest.Str(st["quality"].(map[string]any), "url")
	if !strings.HasSuffix(layerURL, "/layer") {
		t.Fatalf("layer URL %q", layerURL)
	}
	if w := browsertest.Eval[float64](t, viewer, `document.querySelector('#stage-grid .tile.active video').clientWidth`); w < 400 {
		t.Fatalf("the desktop player is %v px wide; the test needs one of 400 or more", w)
	}
	if !browsertest.Eval[bool](t, viewer, frameWatch) {
		t.Fatal("no requestVideoFrameCallback on the viewer's video")
	}
	switches := n.app.SFU().Stats().LayerSwitches
	frames := func() map[string]any { return browsertest.Eval[map[string]any](t, viewer, frameState) }
	start := frames()
	for _, step := range []struct {
		encoding string
		width    float64
	}{{"high", 1280}, {"low", 320}, {"high", 1280}, {"auto", 0}} {
		at := time.Now()
		status, _, body := do(t, "POST", layerURL, "application/json", fmt.Sprintf(`{"mediaId":"0","encodingId":%q}`, step.encoding))
		if status != 204 {
			t.Fatalf("POST layer %s: %d %s", step.encoding, status, body)
		}
		f := browsertest.WaitState(t, viewer, frameState, func(f map[string]any) bool {
			return step.width == 0 || num(f, "width") == step.width
		}, 15*time.Second)
		t.Logf("FIGURE %s: a %v-wide frame presented %v after the POST", step.encoding, f["width"], time.Since(at).Round(10*time.Millisecond))
		time.Sleep(3 * time.Second)
	}
	end := frames()
	decoded, presented := num(end, "decoded")-num(start, "decoded"), num(end, "count")-num(start, "count")
	t.Logf("FIGURE across high → low → high → auto (12 s): %v frames decoded (totalVideoFrames +%v), %v presented; decoding stood still for %.0f ms at most, presentation for %.0f ms; frames presented by width %v",
		decoded, num(end, "total")-num(start, "total"), presented, num(end, "maxStallMs"), num(end, "maxGapMs"), end["widths"])
	if stall := num(end, "maxStallMs"); stall >= 1000 {
		for _, s := range end["samples"].([]any) {
			t.Logf("  inbound-rtp %v", s)
		}
		t.Errorf("the viewer decoded nothing for %.0f ms across the switches", stall)
	}
	if decoded < 200 || presented < 150 {
		t.Errorf("%v frames decoded and %v presented in 12 s across the switches", decoded, presented)
	}
	w := end["widths"].(map[string]any)
	if num(w, "1280") < 30 || num(w, "320") < 30 {
		t.Errorf("frames presented by width %v: want plenty at 1280 and at 320", w)
	}
	if d := n.app.SFU().Stats().LayerSwitches - switches; d < 3 {
		t.Errorf("the server made %d layer switches, want at least 3", d)
	}

	// The quality menu, as a person uses it.
	_ = browsertest.Eval[bool](t, viewer, layerPosts)
	choose := func(v string) {
		t.Helper()
		if err := chromedp.Do(viewer, chromedp.SetValue(chromedp.ID("quality"), v)); err != nil {
			t.Fatal(err)
		}
		_ = browsertest.Eval[bool](t, viewer, `document.getElementById('quality').dispatchEvent(new Event('change')), true`)
	}
	posts := 0
	choose("low")
	posts = layerPost(t, viewer, posts, "low", "")
	t.Logf("FIGURE menu Low: 320 wide after %v", waitWidth(t, viewer, 320, 15*time.Second).Round(10*time.Millisecond))
	_ = browsertest.Eval[bool](t, viewer, `document.getElementById('stats-toggle').click(), true`)
	time.Sleep(1100 * time.Millisecond) // a stats round for the overlay
	if q := browsertest.Eval[string](t, viewer, `document.querySelector('[data-stat=quality]').textContent`); q != "Low" {
		t.Errorf("the overlay's quality: %q", q)
	}
	browsertest.Screenshot(t, viewer, "watch-low")
	choose("high")
	posts = layerPost(t, viewer, posts, "high", "")
	waitWidth(t, viewer, 1280, 15*time.Second)
	choose("auto")
	posts = layerPost(t, viewer, posts, "auto", "")

	// A phone-sized player asks for the middle layer at most: it is sent no
	// more. Grown again, the cap is lifted and it climbs back.
	browsertest.Viewport(t, viewer, 375, 800, true)
	posts = layerPost(t, viewer, posts, "auto", "mid")
	at := time.Now()
	browsertest.WaitState(t, viewer, "", func(s map[string]any) bool { return num(s, "width") > 0 && num(s, "width") <= 640 }, 10*time.Second)
	t.Logf("FIGURE at 375 px: at most 640 wide after %v", time.Since(at).Round(10*time.Millisecond))
	time.Sleep(1100 * time.Millisecond)
	if q := browsertest.Eval[string](t, viewer, `document.querySelector('[data-stat=quality]').textContent`); q != "Auto, up to Mid" {
		t.Errorf("the overlay's quality at 375 px: %q", q)
	}
	browsertest.NoSideScroll(t, viewer)
	if top := browsertest.Eval[[]float64](t, viewer, `[...document.querySelectorAll('.toolbar > :not([hidden])')].map((e) => e.getBoundingClientRect().top)`); len(top) < 4 || top[0] != top[len(top)-1] {
		t.Errorf("the player's toolbar takes more than a line at 375 px: tops %v", top)
	}
	browsertest.FullScreenshot(t, viewer, "watch-375")
	browsertest.Viewport(t, viewer, 1280, 900, false)
	posts = layerPost(t, viewer, posts, "auto", "")
	// How fast it climbs is the server's bandwidth estimate (e2e
	// TestSimulcastFollowsEachViewersLink holds it to that); on a loaded
	// machine it may take longer than this test waits.
	at = time.Now()
	for browsertest.Num(browsertest.Eval[map[string]any](t, viewer, "window.state"), "width") != 1280 && time.Since(at) < 20*time.Second {
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("FIGURE back at 1280 px: %v wide after %v", browsertest.Num(browsertest.Eval[map[string]any](t, viewer, "window.state"), "width"), time.Since(at).Round(10*time.Millisecond))

	// Minimised, the page is hidden: it asks for the low layer, and lifts
	// the cap as soon as it shows again.
	win, err := chromedp.Call(viewer, browser.GetWindowForTarget, browser.GetWindowForTargetParams{})
	if err != nil {
		t.Fatal(err)
	}
	setWindow := func(state browser.WindowState) {
		t.Helper()
		if _, err := chromedp.CallBrowser(viewer, browser.SetWindowBounds, browser.SetWindowBoundsParams{WindowID: win.WindowID, Bounds: &browser.Bounds{WindowState: state}}); err != nil {
			t.Fatal(err)
		}
	}
	setWindow(browser.WindowStateMinimized)
	browsertest.WaitState(t, viewer, `({hidden: document.hidden})`, func(s map[string]any) bool { return s["hidden"] == true }, 5*time.Second)
	posts = layerPost(t, viewer, posts, "auto", "low")
	t.Logf("FIGURE minimised: 320 wide after %v", waitWidth(t, viewer, 320, 10*time.Second).Round(10*time.Millisecond))
	setWindow(browser.WindowStateNormal)
	layerPost(t, viewer, posts, "auto", "")

	// The studio on a phone.
	browsertest.Viewport(t, host, 375, 800, true)
	time.Sleep(1100 * time.Millisecond)
	browsertest.NoSideScroll(t, host)
	browsertest.FullScreenshot(t, host, "studio-simulcast-375")
}

// H.264 goes out in three layers too, and a 360p picture in two (h and f:
// the browser would send only the lowest two of three); a pinned viewer
// gets each.
func TestBrowserSimulcastH264And360p(t *testing.T) {
	n := startNode(t, nil)
	browser := browsertest.Launch(t)
	for _, c := range []struct {
		room, query, codec, rids string
		widths                   map[string]float64
	}{
		{"simul264", "&codec=H264", "H264", "q,h,f", map[string]float64{"low": 320, "high": 1280, "mid": 640}},
		{"simul360", "&res=360", "VP8", "h,f", map[string]float64{"low": 320, "high": 640}},
	} {
		host, _ := goLiveSimulcast(t, browser, n.base+"/studio/"+c.room+"?autostart=1&key="+c.room+"-key"+c.query, c.rids)
		viewer, st := watchPlaying(t, browser, n.base+"/watch/"+c.room)
		if st["codec"] != c.codec {
			t.Fatalf("viewer codec %v, want %s", st["codec"], c.codec)
		}
		layerURL := browsertest.Str(st["quality"].(map[string]any), "url")
		for _, enc := range []string{"low", "high", "mid"} {
			width, ok := c.widths[enc]
			if !ok {
				continue
			}
			status, _, body := do(t, "POST", layerURL, "application/json", fmt.Sprintf(`{"mediaId":"0","encodingId":%q}`, enc))
			if status != 204 {
				t.Fatalf("POST layer %s: %d %s", enc, status, body)
			}
			t.Logf("FIGURE %s %s: %v wide after %v", c.room, enc, width, waitWidth(t, viewer, width, 15*time.Second).Round(10*time.Millisecond))
		}
		before := browsertest.Num(browsertest.Eval[map[string]any](t, viewer, "window.state"), "framesDecoded")
		time.Sleep(2 * time.Second)
		if after := browsertest.Num(browsertest.Eval[map[string]any](t, viewer, "window.state"), "framesDecoded"); after < before+20 {
			t.Errorf("%s: the viewer decoded %v frames in 2 s", c.room, after-before)
		}
		if label := browsertest.Eval[string](t, host, `document.getElementById('simulcast-label').textContent`); label != fmt.Sprintf("Simulcast (%d layers)", strings.Count(c.rids, ",")+1) {
			t.Errorf("%s: the studio's switch says %q", c.room, label)
		}
	}
}
