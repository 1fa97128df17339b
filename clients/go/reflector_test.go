package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// reflector is a test-only WHIP/WHEP server: it forwards the one publisher's
// tracks to every viewer, sends the publisher a PLI when a viewer connects or
// asks for one, and echoes data channel messages. It is what the real server
// does at its simplest, so the client is tested without it.
type reflector struct {
	t   *testing.T
	key string
	api *webrtc.API

	mu       sync.Mutex
	next     int
	sessions map[string]*webrtc.PeerConnection
	deleted  []string
	pub      *webrtc.PeerConnection
	videoSSR webrtc.SSRC
	tracks   []*webrtc.TrackLocalStaticRTP
	wg       sync.WaitGroup
}

func newReflector(t *testing.T, key string) *reflector {
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		t.Fatal(err)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	return &reflector{t: t, key: key, api: api, sessions: map[string]*webrtc.PeerConnection{}}
}

func (r *reflector) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /whip/{room}", r.whip)
	mux.HandleFunc("POST /whep/{room}", r.whep)
	mux.HandleFunc("DELETE /{kind}/{room}/{id}", r.delete)
	return mux
}

func writeProblem(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"title": title, "detail": detail, "status": status})
}

// answer applies the offer to pc, waits for gathering (non-trickle) and
// replies 201 with a relative Location.
func (r *reflector) answer(w http.ResponseWriter, req *http.Request, kind string, pc *webrtc.PeerConnection, offer string) {
	fail := func(err error) {
		_ = pc.Close()
		writeProblem(w, http.StatusBadRequest, "Bad offer", err.Error())
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		fail(err)
		return
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		fail(err)
		return
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(ans); err != nil {
		fail(err)
		return
	}
	<-gathered
	r.mu.Lock()
	r.next++
	loc := fmt.Sprintf("/%s/%s/s%d", kind, req.PathValue("room"), r.next)
	r.sessions[loc] = pc
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, pc.LocalDescription().SDP)
}

func readOffer(w http.ResponseWriter, req *http.Request) (string, bool) {
	if req.Header.Get("Content-Type") != "application/sdp" {
		writeProblem(w, http.StatusUnsupportedMediaType, "Unsupported Media Type", "send the offer as application/sdp")
		return "", false
	}
	b, err := io.ReadAll(req.Body)
	if err != nil {
		writeProblem(w, http.StatusBadRequest, "Bad Request", err.Error())
		return "", false
	}
	return string(b), true
}

func (r *reflector) whip(w http.ResponseWriter, req *http.Request) {
	if req.Header.Get("Authorization") != "Bearer "+r.key {
		writeProblem(w, http.StatusUnauthorized, "Unauthorized", "the stream key is wrong")
		return
	}
	offer, ok := readOffer(w, req)
	if !ok {
		return
	}
	pc, err := r.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		writeProblem(w, http.StatusInternalServerError, "Internal Server Error", err.Error())
		return
	}
	pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		local, err := webrtc.NewTrackLocalStaticRTP(remote.Codec().RTPCodecCapability, remote.Kind().String(), remote.StreamID())
		if err != nil {
			r.t.Error(err)
			return
		}
		r.mu.Lock()
		r.tracks = append(r.tracks, local)
		if remote.Kind() == webrtc.RTPCodecTypeVideo {
			r.videoSSR = remote.SSRC()
		}
		r.wg.Add(1)
		r.mu.Unlock()
		go func() {
			defer r.wg.Done()
			buf := make([]byte, 1500)
			for {
				n, _, err := remote.Read(buf)
				if err != nil {
					return
				}
				if _, err := local.Write(buf[:n]); err != nil && !errors.Is(err, io.ErrClosedPipe) {
					return
				}
			}
		}()
	})
	r.mu.Lock()
	r.pub = pc
	r.mu.Unlock()
	r.answer(w, req, "whip", pc, offer)
}

// pli asks the publisher for a keyframe (RFC 4585 section 6.3.1).
func (r *reflector) pli() {
	r.mu.Lock()
	pub, ssrc := r.pub, r.videoSSR
	r.mu.Unlock()
	if pub != nil && ssrc != 0 {
		_ = pub.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(ssrc)}})
	}
}

func (r *reflector) trackCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.tracks)
}

func (r *reflector) whep(w http.ResponseWriter, req *http.Request) {
	offer, ok := readOffer(w, req)
	if !ok {
		return
	}
	pc, err := r.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		writeProblem(w, http.StatusInternalServerError, "Internal Server Error", err.Error())
		return
	}
	r.mu.Lock()
	tracks := append([]*webrtc.TrackLocalStaticRTP(nil), r.tracks...)
	r.mu.Unlock()
	for _, tr := range tracks {
		sender, err := pc.AddTrack(tr)
		if err != nil {
			r.t.Error(err)
			continue
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			for {
				pkts, _, err := sender.ReadRTCP()
				if err != nil {
					return
				}
				for _, p := range pkts {
					switch p.(type) {
					case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
						r.pli()
					}
				}
			}
		}()
	}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			r.pli()
		}
	})
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		if dc.Label() != DataChannelLabel {
			r.t.Errorf("data channel label %q, want %q", dc.Label(), DataChannelLabel)
		}
		dc.OnOpen(func() { _ = dc.SendText(`{"v":1,"type":"hello"}`) })
		dc.OnMessage(func(m webrtc.DataChannelMessage) { _ = dc.SendText("echo: " + string(m.Data)) })
	})
	r.answer(w, req, "whep", pc, offer)
}

func (r *reflector) delete(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	pc, ok := r.sessions[req.URL.Path]
	delete(r.sessions, req.URL.Path)
	if ok {
		r.deleted = append(r.deleted, req.URL.Path)
	}
	r.mu.Unlock()
	if !ok {
		writeProblem(w, http.StatusNotFound, "Not Found", "no such session")
		return
	}
	_ = pc.Close()
	w.WriteHeader(http.StatusOK)
}

func (r *reflector) close() {
	r.mu.Lock()
	var pcs []*webrtc.PeerConnection
	for _, pc := range r.sessions {
		pcs = append(pcs, pc)
	}
	r.mu.Unlock()
	for _, pc := range pcs {
		_ = pc.Close()
	}
	r.wg.Wait()
}

func (r *reflector) deletedSessions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.deleted...)
}

// eventually polls cond every 20 ms until it holds or ctx ends.
func eventually(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// startReflector serves a reflector on a loopback port and returns it with
// client options pointing at it, and a function that stops it all (also
// called at cleanup).
func startReflector(t *testing.T) (*reflector, Options, func()) {
	r := newReflector(t, "secret")
	srv := httptest.NewServer(r.handler())
	tr := &http.Transport{}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			tr.CloseIdleConnections()
			srv.Close()
			r.close()
		})
	}
	t.Cleanup(stop)
	return r, Options{BaseURL: srv.URL, Room: "demo", Token: "secret", LoopbackOnly: true, HTTPClient: &http.Client{Transport: tr}}, stop
}
