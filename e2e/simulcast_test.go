package e2e

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"

	client "github.com/onair-live/onair/clients/go"
)

// linkLimit is a viewer's downlink with a rate limit: packets over the rate
// (beyond a 100 ms burst) are lost before the viewer sees them, and before
// its transport-wide feedback counts them, as on a congested last hop.
type linkLimit struct {
	bps    atomic.Int64 // 0: no limit
	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func (l *linkLimit) allow(n int) bool {
	bps := l.bps.Load()
	if bps == 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	burst := float64(bps) / 8 / 10
	if !l.last.IsZero() {
		l.tokens = min(burst, l.tokens+now.Sub(l.last).Seconds()*float64(bps)/8)
	}
	l.last = now
	if l.tokens < float64(n) {
		return false
	}
	l.tokens -= float64(n)
	return true
}

func (l *linkLimit) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &limitInterceptor{l: l}, nil
}

type limitInterceptor struct {
	interceptor.NoOp
	l *linkLimit
}

func (i *limitInterceptor) BindRemoteStream(_ *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attr, err := r.Read(b, a)
			if err != nil || i.l.allow(n) {
				return n, attr, err
			}
		}
	})
}

// layerWatch is a viewer that records the simulcast layer of each frame it
// receives whole.
type layerWatch struct {
	v      *client.Viewer
	mu     sync.Mutex
	layers []int // per frame
}

func (w *layerWatch) since(i int) []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]int(nil), w.layers[min(i, len(w.layers)):]...)
}

func (w *layerWatch) frames() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.layers)
}

// settled reports whether the last n frames were all of layer want.
func (w *layerWatch) settled(n, want int) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.layers) < n {
		return false
	}
	for _, l := range w.layers[len(w.layers)-n:] {
		if l != want {
			return false
		}
	}
	return true
}

func watchLayers(t *testing.T, n *node, room string, link *linkLimit) *layerWatch {
	t.Helper()
	o := n.opts(room, "")
	if link != nil {
		o.Interceptors = []interceptor.Factory{link}
	}
	v, err := client.Watch(testContext(t, 20*time.Second), o, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	w := &layerWatch{v: v}
	v.OnFrame(func(f client.FrameInfo) {
		if f.Marked {
			w.mu.Lock()
			w.layers = append(w.layers, f.Marker.Layer)
			w.mu.Unlock()
		}
	})
	return w
}

func videoTrack(v *client.Viewer) client.TrackStats {
	for _, tr := range v.Stats().Tracks {
		if tr.Kind == "video" {
			return tr
		}
	}
	return client.TrackStats{}
}

// A three-layer publisher: a viewer with a good link climbs to the high
// layer with no gap in its sequence numbers; a viewer whose link carries
// 600 kbit/s settles on the middle layer (375 kbit/s), and climbs to the
// high one (1.5 Mbit/s) once the limit is lifted; a viewer that pins the low
// layer gets it alone; with no viewer on the high layer, it is neither
// forwarded nor asked for keyframes.
func TestSimulcastFollowsEachViewersLink(t *testing.T) {
	n := startNode(t, nil)
	pub, err := client.PublishSimulcast(testContext(t, 20*time.Second), n.opts("simul", "simul-key"), client.NewSyntheticSimulcast(30, 1_500_000), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })

	pinned := watchLayers(t, n, "simul", nil)
	status, _, body := do(t, "POST", pinned.v.Location()+"/layer", "application/json", `{"mediaId":"0","encodingId":"low"}`)
	if status != 204 {
		t.Fatalf("pin the low layer: %d %s", status, body)
	}
	eventually(t, 15*time.Second, "the pinned viewer on the low layer", func() bool { return pinned.settled(30, 0) })
	// Nobody watches the high layer: nothing of it goes out.
	fBefore := pub.Stats()
	time.Sleep(2 * time.Second)
	fAfter := pub.Stats()
	if k := requestsOf(fAfter, "f") - requestsOf(fBefore, "f"); k != 0 {
		t.Fatalf("the unwatched high layer was asked for %d keyframes", k)
	}

	link := &linkLimit{}
	link.bps.Store(600_000)
	slow := watchLayers(t, n, "simul", link)
	good := watchLayers(t, n, "simul", nil)
	start := time.Now()
	eventually(t, 40*time.Second, "the viewer with a good link on the high layer", func() bool { return good.settled(60, 2) })
	t.Logf("FIGURE good link: high layer after %v", time.Since(start).Round(100*time.Millisecond))
	eventually(t, 40*time.Second, "the 600 kbit/s viewer on the middle layer", func() bool { return slow.settled(90, 1) })
	mark := slow.frames()
	time.Sleep(4 * time.Second)
	if got := slow.since(mark); len(got) < 60 || strings.Contains(fmtInts(got), "2") {
		t.Fatalf("the 600 kbit/s viewer's frames since settling: %v", got)
	}

	link.bps.Store(0)
	lifted := time.Now()
	eventually(t, 60*time.Second, "the viewer climbing back once its link is free", func() bool { return slow.settled(60, 2) })
	t.Logf("FIGURE limit lifted → high layer in %v", time.Since(lifted).Round(100*time.Millisecond))

	tr := videoTrack(good.v)
	if tr.Missing != 0 || tr.Frames < 300 {
		t.Fatalf("the good viewer's video: %+v; want no sequence gap across the switches", tr)
	}
	if st := pinned.since(0); strings.Contains(fmtInts(st[len(st)/2:]), "2") || strings.Contains(fmtInts(st[len(st)/2:]), "1") {
		t.Fatal("the pinned viewer left the low layer")
	}

	// Refusals of the layer resource.
	for _, c := range []struct{ body, ctype string }{
		{`{"encodingId":"ultra"}`, "application/json"},
		{`{"mediaId":"7","encodingId":"low"}`, "application/json"},
		{`not json`, "application/json"},
		{`{"encodingId":"low"}`, "text/plain"},
		{`{"encodingId":"` + strings.Repeat("x", 2000) + `"}`, "application/json"},
	} {
		status, _, body := do(t, "POST", pinned.v.Location()+"/layer", c.ctype, c.body)
		if status < 400 || status >= 500 || !strings.Contains(body, "detail") {
			t.Errorf("POST layer %.40s (%s): %d %s", c.body, c.ctype, status, body)
		}
	}
	req, _ := http.NewRequest("POST", n.base+"/whep/simul/0123456789abcdef0123456789abcdef/layer", bytes.NewBufferString(`{"encodingId":"low"}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 404 {
		t.Fatalf("layer of an unknown session: %v %v", resp, err)
	}
}

// requestsOf counts the keyframe requests (PLI, FIR) layer rid received.
func requestsOf(s client.PublisherStats, rid string) uint64 {
	for _, l := range s.Layers {
		if l.RID == rid {
			return l.PLIs + l.FIRs
		}
	}
	return 0
}

func fmtInts(v []int) string {
	var b strings.Builder
	for _, x := range v {
		b.WriteByte(byte('0' + x))
	}
	return b.String()
}
