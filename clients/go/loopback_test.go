package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

func TestPublishWatchLoopback(t *testing.T) {
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	refl, o, stop := startReflector(t)

	pub, err := Publish(ctx, o, NewSyntheticVP8(30, 300_000), NewSyntheticOpus())
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	if !strings.HasPrefix(pub.Location(), o.BaseURL+"/whip/demo/") {
		t.Errorf("Location %q is not the absolute session URL", pub.Location())
	}
	if err := pub.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(ctx, t, "the reflector to get both tracks", func() bool { return refl.trackCount() == 2 })

	viewOpts := o
	viewOpts.Token = ""
	view, err := Watch(ctx, viewOpts, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer view.Close()
	var marked, unmarked atomic.Int64
	view.OnFrame(func(f FrameInfo) {
		if f.Marked && f.Latency > 0 && f.Marker.Layers == 1 && f.Bytes > 0 {
			marked.Add(1)
		} else {
			unmarked.Add(1)
		}
	})
	if err := view.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 10)
	view.OnMessage(func(b []byte) { got <- string(b) })

	eventually(ctx, t, "video keyframes, frames and audio", func() bool {
		st := view.Stats()
		var video, audio bool
		for _, tr := range st.Tracks {
			video = video || tr.Kind == "video" && tr.Keyframes > 0 && tr.Frames >= 15
			audio = audio || tr.Kind == "audio" && tr.Packets >= 25
		}
		return video && audio && st.DataChannelOpen
	})
	st := view.Stats()
	if len(st.Tracks) != 2 {
		t.Fatalf("%d tracks, want 2: %+v", len(st.Tracks), st.Tracks)
	}
	pst := pub.Stats()
	t.Logf("viewer: %+v", st)
	t.Logf("publisher: %+v", pst)
	for _, tr := range st.Tracks {
		if !strings.HasPrefix(tr.StreamID, "onair-") {
			t.Errorf("%s track stream id %q, want the publisher's", tr.Kind, tr.StreamID)
		}
		want := map[string]string{"video": webrtc.MimeTypeVP8, "audio": webrtc.MimeTypeOpus}[tr.Kind]
		if !strings.EqualFold(tr.Codec, want) {
			t.Errorf("%s codec %s, want %s", tr.Kind, tr.Codec, want)
		}
		if tr.FirstPacket <= 0 || tr.Bytes <= tr.Packets*12 {
			t.Errorf("%s stats look wrong: %+v", tr.Kind, tr)
		}
		if tr.Expected < tr.Packets-tr.Duplicates-tr.OutOfOrder || tr.Missing > tr.Expected/10 {
			t.Errorf("%s sequence accounting looks wrong on loopback: %+v", tr.Kind, tr)
		}
		if tr.Kind == "video" && (tr.FirstKeyframe < tr.FirstPacket || tr.SSRC == 0) {
			t.Errorf("video: first keyframe %v before first packet %v", tr.FirstKeyframe, tr.FirstPacket)
		}
	}
	if k, ok := st.FirstKeyframe(); !ok || k <= 0 {
		t.Errorf("FirstKeyframe() = %v, %v", k, ok)
	}
	if f, ok := st.FirstFrame(); !ok || f <= 0 {
		t.Errorf("FirstFrame() = %v, %v", f, ok)
	}
	if marked.Load() < 15 || unmarked.Load() != 0 {
		t.Errorf("OnFrame: %d frames with a marker and a latency, %d without", marked.Load(), unmarked.Load())
	}
	for _, tr := range st.Tracks {
		if tr.Kind == "video" && (len(tr.Layers) != 1 || tr.Layers[0].RID != "" || tr.Layers[0].Frames == 0 || tr.Layers[0].Bytes == 0) {
			t.Errorf("video layers %+v", tr.Layers)
		}
	}
	if pst.Video.Samples == 0 || pst.Video.Packets < pst.Video.Samples || pst.Video.Bytes == 0 || pst.Video.SSRC == 0 ||
		pst.Audio.Packets == 0 || pst.Audio.Codec != webrtc.MimeTypeOpus {
		t.Errorf("publisher stats: %+v", pst)
	}
	// The reflector sends a PLI when the viewer connects.
	eventually(ctx, t, "a PLI at the publisher", func() bool { return pub.Stats().Video.PLIs > 0 })

	// The data channel works both ways.
	select {
	case m := <-got:
		if m != `{"v":1,"type":"hello"}` {
			t.Errorf("first message %q", m)
		}
	case <-ctx.Done():
		t.Fatal("no greeting on the data channel")
	}
	if err := view.Send("hi"); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m != "echo: hi" {
			t.Errorf("echo %q", m)
		}
	case <-ctx.Done():
		t.Fatal("no echo on the data channel")
	}

	if err := view.Close(); err != nil {
		t.Errorf("viewer Close: %v", err)
	}
	if err := pub.Close(); err != nil {
		t.Errorf("publisher Close: %v", err)
	}
	if err := pub.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := pub.Err(); err != nil {
		t.Errorf("publisher error: %v", err)
	}
	del := refl.deletedSessions()
	if len(del) != 2 || !strings.HasPrefix(del[0], "/whep/demo/") || !strings.HasPrefix(del[1], "/whip/demo/") {
		t.Errorf("deleted sessions %v, want the viewer's then the publisher's", del)
	}
	if err := view.WaitConnected(ctx); err != nil {
		t.Errorf("WaitConnected after connecting and closing = %v, want nil", err)
	}

	// Everything the clients started has stopped once the test server and
	// its keep-alive connections are gone.
	stop()
	leakCtx, cancelLeak := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelLeak()
	var now int
	for {
		if now = runtime.NumGoroutine(); now <= before+2 {
			break
		}
		select {
		case <-leakCtx.Done():
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, now, buf[:runtime.Stack(buf, true)])
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestPublishErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, o, _ := startReflector(t)

	bad := o
	bad.Token = "wrong"
	_, err := Publish(ctx, bad, NewSyntheticVP8(30, 100_000), nil)
	he, ok := err.(*HTTPError)
	if !ok {
		t.Fatalf("Publish with a wrong key: %T %v, want *HTTPError", err, err)
	}
	if he.Status != http.StatusUnauthorized || he.Title != "Unauthorized" || he.Detail != "the stream key is wrong" {
		t.Errorf("HTTPError %+v", he)
	}
	if !strings.Contains(he.Error(), "401") || !strings.Contains(he.Error(), "stream key is wrong") {
		t.Errorf("Error() = %q", he.Error())
	}

	if _, err := Publish(ctx, o, nil, nil); !errors.Is(err, ErrNoSource) {
		t.Errorf("Publish without sources: %v, want ErrNoSource", err)
	}
	if _, err := Publish(ctx, o, NewSyntheticOpus(), nil); err == nil {
		t.Error("Publish with an audio source as video succeeded")
	}
	if _, err := Watch(ctx, o, 0); err == nil {
		t.Error("Watch with 0 slots succeeded")
	}
	noRoom := o
	noRoom.Room = ""
	if _, err := Watch(ctx, noRoom, 1); err == nil {
		t.Error("Watch without a room succeeded")
	}

	// Audio only: one transceiver, one track.
	pub, err := Publish(ctx, o, nil, NewSyntheticOpus())
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(ctx, t, "audio packets", func() bool { return pub.Stats().Audio.Packets > 5 })
	if st := pub.Stats(); st.Video.Kind != "" || st.Video.Packets != 0 || st.Audio.Kind != "audio" {
		t.Errorf("audio-only stats %+v", st)
	}
	if err := pub.Close(); err != nil {
		t.Error(err)
	}
}

func TestHTTPErrorParsing(t *testing.T) {
	mk := func(status int, ct, body string) *http.Response {
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {ct}}, Body: io.NopCloser(strings.NewReader(body))}
	}
	tests := []struct {
		resp *http.Response
		want HTTPError
	}{
		{mk(409, "application/problem+json", `{"type":"about:blank","title":"Room busy","detail":"someone is live","status":409}`),
			HTTPError{409, "Room busy", "someone is live"}},
		{mk(403, "application/problem+json; charset=utf-8", `{"title":"Forbidden"}`), HTTPError{403, "Forbidden", ""}},
		{mk(500, "text/plain", "boom\n"), HTTPError{500, "Internal Server Error", "boom"}},
		{mk(502, "application/problem+json", `not json`), HTTPError{502, "Bad Gateway", ""}},
	}
	for _, tt := range tests {
		if got := newHTTPError(tt.resp); *got != tt.want {
			t.Errorf("newHTTPError = %+v, want %+v", *got, tt.want)
		}
	}
}
