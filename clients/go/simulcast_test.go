package client

import (
	"context"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// simulcastAnswerer is a plain pion peer behind a WHIP endpoint that takes
// rid-based simulcast as a browser-facing SFU would: the MID and RID header
// extensions are registered, and pion matches each RTP stream to its RID. It
// keeps what it received per RID, accounted for by a viewer's trackState.
type simulcastAnswerer struct {
	t     *testing.T
	api   *webrtc.API
	offer chan string

	mu     sync.Mutex
	pc     *webrtc.PeerConnection
	answer string
	layers map[string]*answererLayer
	wg     sync.WaitGroup
}

type answererLayer struct {
	ssrc      webrtc.SSRC
	st        *trackState
	noRID     int                // packets without the RID extension, or with another RID
	sizes     map[[2]uint16]bool // keyframe sizes
	keyframes int
}

func newSimulcastAnswerer(t *testing.T) *simulcastAnswerer {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		t.Fatal(err)
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		t.Fatal(err)
	}
	se, err := Options{LoopbackOnly: true}.settingEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	return &simulcastAnswerer{t: t, api: api, offer: make(chan string, 1), layers: map[string]*answererLayer{}}
}

func (a *simulcastAnswerer) whip(w http.ResponseWriter, req *http.Request) {
	offer, ok := readOffer(w, req)
	if !ok {
		return
	}
	a.offer <- offer
	pc, err := a.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		writeProblem(w, http.StatusInternalServerError, "Internal Server Error", err.Error())
		return
	}
	pc.OnTrack(func(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		if remote.Kind() != webrtc.RTPCodecTypeVideo {
			return
		}
		var ridID uint8
		for _, e := range recv.GetParameters().HeaderExtensions {
			if e.URI == sdp.SDESRTPStreamIDURI {
				ridID = uint8(e.ID)
			}
		}
		start := time.Now()
		l := &answererLayer{ssrc: remote.SSRC(), sizes: map[[2]uint16]bool{},
			st: newTrackState(remote.Kind(), remote.Codec().MimeType, start)}
		rid := remote.RID()
		a.mu.Lock()
		a.layers[rid] = l
		a.wg.Add(2)
		a.mu.Unlock()
		go func() { // the layer's RTCP, which drives the interceptors
			defer a.wg.Done()
			for {
				if _, _, err := recv.ReadSimulcastRTCP(rid); err != nil {
					return
				}
			}
		}()
		go func() {
			defer a.wg.Done()
			var desc codecs.VP8Packet
			for {
				pkt, _, err := remote.ReadRTP()
				if err != nil {
					return
				}
				a.mu.Lock()
				if string(pkt.GetExtension(ridID)) != rid {
					l.noRID++
				}
				l.st.observe(pkt, pkt.MarshalSize(), time.Since(start))
				if frame, err := desc.Unmarshal(pkt.Payload); err == nil && desc.S == 1 && len(frame) >= 10 && frame[0]&1 == 0 {
					l.keyframes++
					l.sizes[[2]uint16{binary.LittleEndian.Uint16(frame[6:]), binary.LittleEndian.Uint16(frame[8:])}] = true
				}
				a.mu.Unlock()
			}
		}()
	})
	a.mu.Lock()
	a.pc = pc
	a.mu.Unlock()
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		writeProblem(w, http.StatusBadRequest, "Bad offer", err.Error())
		return
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		writeProblem(w, http.StatusBadRequest, "Bad offer", err.Error())
		return
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		writeProblem(w, http.StatusInternalServerError, "Internal Server Error", err.Error())
		return
	}
	<-gathered
	a.mu.Lock()
	a.answer = pc.LocalDescription().SDP
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", "/whip/demo/s1")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(pc.LocalDescription().SDP))
}

// layer returns a copy of what a layer received, and false before it arrived.
func (a *simulcastAnswerer) layer(rid string) (answererLayer, TrackStats, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	l, ok := a.layers[rid]
	if !ok {
		return answererLayer{}, TrackStats{}, false
	}
	return *l, l.st.snapshot(), true
}

func (a *simulcastAnswerer) pli(rid string) {
	a.mu.Lock()
	pc, l := a.pc, a.layers[rid]
	a.mu.Unlock()
	if err := pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(l.ssrc)}}); err != nil {
		a.t.Error(err)
	}
}

func (a *simulcastAnswerer) close() {
	a.mu.Lock()
	pc := a.pc
	a.mu.Unlock()
	if pc != nil {
		_ = pc.Close()
	}
	a.wg.Wait()
}

// The simulcast publisher's offer is what browsers send, and a plain pion
// answerer receives the three layers by RID, each with its own frame size,
// bit rate share and Markers, and keyframes on the PLI'd layer only.
func TestPublishSimulcast(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := newSimulcastAnswerer(t)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /whip/{room}", a.whip)
	mux.HandleFunc("DELETE /whip/{room}/{id}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer a.close()

	layers := NewSyntheticSimulcast(30, 800_000)
	pub, err := PublishSimulcast(ctx, Options{BaseURL: srv.URL, Room: "demo", LoopbackOnly: true}, layers, NewSyntheticOpus())
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()

	offer := <-a.offer
	for _, want := range []string{
		"a=rid:q send", "a=rid:h send", "a=rid:f send", "a=simulcast:send q;h;f",
		"urn:ietf:params:rtp-hdrext:sdes:mid", "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
	} {
		if !strings.Contains(offer, want) {
			t.Errorf("offer lacks %q:\n%s", want, offer)
		}
	}
	if n := strings.Count(offer, "m=video"); n != 1 {
		t.Errorf("%d m=video sections, want one for all layers", n)
	}
	if err := pub.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	answer := a.answer
	a.mu.Unlock()
	if !strings.Contains(answer, "a=simulcast:recv q;h;f") {
		t.Errorf("answer does not take the layers:\n%s", answer)
	}

	eventually(ctx, t, "whole frames of every layer", func() bool {
		for _, rid := range SimulcastRIDs {
			if _, st, ok := a.layer(rid); !ok || len(st.Layers) != 1 || st.Layers[0].Frames < 20 {
				return false
			}
		}
		return true
	})
	var bytesPerFrame []float64
	ssrcs := map[webrtc.SSRC]bool{}
	for i, rid := range SimulcastRIDs {
		l, st, _ := a.layer(rid)
		ssrcs[l.ssrc] = true
		if l.noRID != 0 || l.keyframes == 0 {
			t.Errorf("layer %s: %d packets without its RID, %d keyframes", rid, l.noRID, l.keyframes)
		}
		want := [2]uint16{uint16(simulcastClass[i].width), uint16(simulcastClass[i].height)}
		if len(l.sizes) != 1 || !l.sizes[want] {
			t.Errorf("layer %s: keyframe sizes %v, want %v", rid, l.sizes, want)
		}
		ls := st.Layers[0]
		if ls.Layer != i || ls.RID != rid || ls.MeanLatency() <= 0 || ls.LatencyMax < ls.MeanLatency() || st.FirstFrame <= 0 {
			t.Errorf("layer %s: the Markers say %+v (first frame %v)", rid, ls, st.FirstFrame)
		}
		bytesPerFrame = append(bytesPerFrame, float64(ls.Bytes)/float64(ls.Frames))
	}
	if len(ssrcs) != 3 {
		t.Errorf("SSRCs %v, want three", ssrcs)
	}
	// 1/16, 1/4, 1 of the full layer's rate: a quarter of the bytes per frame,
	// give or take the keyframes and RTP headers.
	if r1, r2 := bytesPerFrame[1]/bytesPerFrame[0], bytesPerFrame[2]/bytesPerFrame[1]; r1 < 2.5 || r1 > 5 || r2 < 3 || r2 > 5 {
		t.Errorf("bytes per frame %v: ratios %.2f, %.2f, want about 4", bytesPerFrame, r1, r2)
	}

	// A PLI on one layer makes a keyframe on that layer only.
	h := layers[1].Source.(*SyntheticVP8)
	before := h.Keyframes()
	a.pli("h")
	eventually(ctx, t, "a keyframe on layer h", func() bool { return h.Keyframes() > before })
	st := pub.Stats()
	if len(st.Layers) != 3 {
		t.Fatalf("publisher layers %+v", st.Layers)
	}
	var sum uint64
	for i, l := range st.Layers {
		if l.RID != SimulcastRIDs[i] || l.Kind != "video" || l.SSRC == 0 || l.Packets == 0 || l.Samples == 0 {
			t.Errorf("publisher layer %d: %+v", i, l)
		}
		if want := uint64(0); i == 1 {
			if l.PLIs != 1 {
				t.Errorf("layer h got %d PLIs, want 1", l.PLIs)
			}
		} else if l.PLIs != want {
			t.Errorf("layer %s got %d PLIs, want none", l.RID, l.PLIs)
		}
		sum += l.Packets
	}
	if st.Video.Packets < sum || st.Video.PLIs != 1 || st.Video.SSRC != st.Layers[0].SSRC || st.Audio.Packets == 0 {
		t.Errorf("video %+v, audio %+v; layers sent %d packets", st.Video, st.Audio, sum)
	}
	if err := pub.Close(); err != nil {
		t.Error(err)
	}
}

func TestPublishSimulcastErrors(t *testing.T) {
	ctx := context.Background()
	o := Options{BaseURL: "http://127.0.0.1:1", Room: "demo"}
	vp8 := func() Source { return NewSyntheticVP8(30, 100_000) }
	for _, tt := range []struct {
		layers []Layer
		want   string
	}{
		{nil, "at least two layers"},
		{[]Layer{{"q", vp8()}}, "at least two layers"},
		{[]Layer{{"q", vp8()}, {"q", vp8()}}, "used twice"},
		{[]Layer{{"q", vp8()}, {"h h", vp8()}}, "is not letters"},
		{[]Layer{{"q", vp8()}, {"", vp8()}}, "is not letters"},
		{[]Layer{{"q", vp8()}, {"h", nil}}, "no source"},
		{[]Layer{{"q", vp8()}, {"h", NewSyntheticOpus()}}, "not video"},
	} {
		_, err := PublishSimulcast(ctx, o, tt.layers, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("PublishSimulcast(%d layers) = %v, want %q", len(tt.layers), err, tt.want)
		}
	}
}

// Packets of one layer in one viewer track: frames received whole carry
// their Marker's layer, bytes go to the layer of the last Marker, a frame
// with a lost packet is not whole, and the first whole keyframe is the time
// to first frame.
func TestObserveFrames(t *testing.T) {
	start := time.Now()
	ts := newTrackState(webrtc.RTPCodecTypeVideo, webrtc.MimeTypeVP8, start)
	pay := &codecs.VP8Payloader{EnablePictureID: true}
	var seq uint16 = 65530 // wraps during the test
	var rtpTS uint32
	send := func(src *SyntheticVP8, drop int) (FrameInfo, bool, int) {
		smp, err := src.NextSample(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		rtpTS += 3000
		var last FrameInfo
		var ok bool
		payloads := pay.Payload(1000, smp.Data)
		for i, p := range payloads {
			seq++
			if i == drop {
				continue
			}
			pkt := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: rtpTS, Marker: i == len(payloads)-1}, Payload: p}
			last, ok = ts.observe(&pkt, 12+len(p), time.Since(start))
		}
		return last, ok, len(payloads)
	}
	// Padding-only packets, as a server sends to probe a path, after the last frame.
	pad := func(k int) {
		for range k {
			seq++
			raw := make([]byte, 12+255) // V=2, P=1; the last byte counts the padding
			raw[0], raw[len(raw)-1] = 0xa0, 255
			binary.BigEndian.PutUint16(raw[2:], seq)
			binary.BigEndian.PutUint32(raw[4:], rtpTS)
			var pkt rtp.Packet
			if err := pkt.Unmarshal(raw); err != nil || len(pkt.Payload) != 0 {
				t.Fatalf("padding packet: %v, payload %d", err, len(pkt.Payload))
			}
			if _, ok := ts.observe(&pkt, len(raw), time.Since(start)); ok {
				t.Fatal("a padding packet completed a frame")
			}
		}
	}
	f := newSyntheticVP8(1000, 80_000_000, 1280, 720, 2, 3) // 1 ms frames of ~2.5 kB
	q := newSyntheticVP8(1000, 5_000_000, 320, 180, 0, 3)

	if _, ok, n := send(f, 1); ok || n < 3 { // a keyframe missing its second packet
		t.Fatalf("a keyframe with a lost packet was whole (%d packets)", n)
	}
	if st := ts.snapshot(); st.FirstFrame != 0 || st.Keyframes != 1 || len(st.Layers) != 1 || st.Layers[0].Frames != 0 {
		t.Fatalf("after a broken keyframe: %+v", st)
	}
	for range 3 { // delta frames: whole, but no first frame yet
		pad(2)
		fi, ok, _ := send(f, -1)
		if !ok || fi.Keyframe || !fi.Marked || fi.Marker.Layer != 2 || fi.Marker.Layers != 3 || fi.Latency <= 0 {
			t.Fatalf("delta frame %+v, %v", fi, ok)
		}
	}
	f.RequestKeyframe()
	fi, ok, _ := send(f, -1)
	if !ok || !fi.Keyframe || fi.Marker.Frame != 4 || fi.Packets < 3 {
		t.Fatalf("keyframe %+v, %v", fi, ok)
	}
	st := ts.snapshot()
	if st.FirstFrame != fi.Received || st.FirstFrame < st.FirstKeyframe || st.Missing != 1 {
		t.Errorf("first frame %v, first keyframe %v, missing %d", st.FirstFrame, st.FirstKeyframe, st.Missing)
	}
	// A switch to layer q at its keyframe (its first frame).
	send(q, -1)
	send(q, -1)
	st = ts.snapshot()
	if len(st.Layers) != 2 || st.Layers[0].RID != "q" || st.Layers[1].RID != "f" || st.Layers[0].Frames != 2 ||
		st.Layers[1].Frames != 4 || st.Layers[0].Keyframes != 1 || st.Layers[1].Keyframes != 1 ||
		st.Layers[0].FirstPacket < st.Layers[1].LastPacket || st.Layers[1].FirstPacket != st.FirstPacket || st.Layers[0].LastPacket != st.LastPacket {
		t.Fatalf("layers %+v", st.Layers)
	}
	var sum uint64
	for _, l := range st.Layers {
		sum += l.Bytes
	}
	if st.PaddingPackets != 6 || st.PaddingBytes != 6*(12+255) || sum+st.PaddingBytes != st.Bytes || st.Missing != 1 {
		t.Errorf("layers hold %d bytes, padding %d in %d packets, of %d; %d missing", sum, st.PaddingBytes, st.PaddingPackets,
			st.Bytes, st.Missing)
	}
}
