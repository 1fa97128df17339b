package sfu

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/webrtc/v4"
)

// Role says which side of the stage a session is on.
type Role uint8

const (
	RolePublisher Role = iota + 1
	RoleSubscriber
)

func (r Role) String() string {
	if r == RolePublisher {
		return "publisher"
	}
	return "subscriber"
}

// ErrETagMismatch means a PATCH named an ICE session that has since been restarted
// (RFC 9725 §4.3.1: answer 412).
var ErrETagMismatch = errors.New("sfu: the ICE session has changed (stale ETag)")

// Session is one WHIP or WHEP resource: a peer connection the client can PATCH and
// DELETE by its id.
type Session struct {
	ID       string
	Room     string
	Role     Role
	Identity string

	pc      *webrtc.PeerConnection
	channel atomic.Pointer[webrtc.DataChannel]
	onOpen  atomic.Pointer[func(Channel)]
	mu      sync.Mutex // serialises PATCH
	etag    string
	once    sync.Once
	done    chan struct{}
	cleanup func() // set by the owner before the session is visible
	layers  func(i, pin, cap int) error
	// onLayers is told which simulcast layers a publisher's viewers can take (dynacast.go)
	onLayers atomic.Pointer[func(map[string]bool)]
}

// SetLayer chooses the simulcast layer of a viewer's i-th video (the i-th
// co-host it shows): pin ≥ 0 keeps that layer (0 lowest), -1 lets the
// server choose by the viewer's bandwidth; cap ≥ 0 bounds what it chooses
// (a small player needs no more). Layers a publisher does not send are
// replaced by the nearest below.
func (s *Session) SetLayer(i, pin, cap int) error {
	if s.layers == nil {
		return fmt.Errorf("%w: only a WHEP session chooses layers", ErrBadLayer)
	}
	return s.layers(i, pin, cap)
}

// NewSessionID returns a random 128-bit session id in hex.
func NewSessionID() string { return newSessionID() }

func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func newETag() string { return `"` + newSessionID()[:16] + `"` }

// ChannelLabel is the label of the one data channel a session may open: the room's
// messages (DESIGN.md envelope), reliable and ordered.
const ChannelLabel = "room"

// acceptDataChannel keeps the client's `room` data channel (pion closes a channel
// nobody takes) and refuses any other.
func (s *Session) acceptDataChannel() {
	s.pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		if dc.Label() != ChannelLabel || !s.channel.CompareAndSwap(nil, dc) {
			_ = dc.Close()
			return
		}
		dc.OnOpen(func() {
			if f := s.onOpen.Load(); f != nil {
				(*f)(Channel{dc})
			}
		})
		dc.OnClose(func() { s.channel.CompareAndSwap(dc, nil) })
	})
}

// Channel is a session's open `room` data channel (reliable, ordered), for the
// interaction plane; it carries text frames.
type Channel struct{ dc *webrtc.DataChannel }

// Send sends one text frame.
func (c Channel) Send(b []byte) error { return c.dc.SendText(string(b)) }

// Buffered is how many bytes wait to be sent: a reader that stops reading makes
// it grow.
func (c Channel) Buffered() uint64 { return c.dc.BufferedAmount() }

// OnMessage receives the client's frames, one call at a time.
func (c Channel) OnMessage(f func([]byte)) {
	c.dc.OnMessage(func(m webrtc.DataChannelMessage) { f(m.Data) })
}

// Close closes the channel (the media keeps playing).
func (c Channel) Close() error { return c.dc.Close() }

// OnChannel calls f once the client's `room` data channel is open; set it right
// after the session is created.
func (s *Session) OnChannel(f func(Channel)) {
	var once sync.Once
	g := func(c Channel) { once.Do(func() { f(c) }) } // the channel may open while we look
	s.onOpen.Store(&g)
	if dc := s.channel.Load(); dc != nil && dc.ReadyState() == webrtc.DataChannelStateOpen {
		g(Channel{dc})
	}
}

// ETag is the entity tag of the current ICE session.
func (s *Session) ETag() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.etag
}

// Done is closed when the session has ended.
func (s *Session) Done() <-chan struct{} { return s.done }

// Close ends the session and releases its peer connection; it is safe to call twice.
func (s *Session) Close() error {
	var err error
	s.once.Do(func() {
		close(s.done)
		err = s.pc.Close()
		if s.cleanup != nil {
			s.cleanup()
		}
	})
	return err
}

// Patch applies a trickle-ice-sdpfrag (RFC 8840) to the session. A fragment with new
// ice-ufrag/ice-pwd is an ICE restart (RFC 9725 §4.4.2): the answer fragment carries
// the server's new credentials and candidates, and the ETag changes. ifMatch is the
// If-Match header: empty or "*" match any ICE session.
func (s *Session) Patch(ctx context.Context, ifMatch, frag string) (answer string, etag string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ifMatch != "" && ifMatch != "*" && ifMatch != s.etag {
		return "", "", ErrETagMismatch
	}
	f, err := parseFrag(frag)
	if err != nil {
		return "", "", err
	}
	remote := s.pc.RemoteDescription()
	if remote == nil {
		return "", "", fmt.Errorf("%w: the session has no remote description", ErrBadCandidate)
	}
	if f.ufrag != "" && f.ufrag != currentUfrag(remote.SDP) {
		if f.pwd == "" {
			return "", "", fmt.Errorf("%w: an ICE restart needs a=ice-pwd", ErrBadCandidate)
		}
		answer, err = s.restartICE(ctx, remote.SDP, f)
		if err != nil {
			// Half-restarted ICE cannot be recovered by the client: end the session
			// so it publishes or plays anew.
			go s.Close()
			return "", "", err
		}
		s.etag = newETag()
	}
	for _, c := range f.candidates {
		mid := c.mid
		if err := s.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c.line, SDPMid: &mid}); err != nil {
			return "", "", fmt.Errorf("%w: %v", ErrBadCandidate, err)
		}
	}
	return answer, s.etag, nil
}

func (s *Session) restartICE(ctx context.Context, remoteSDP string, f frag) (string, error) {
	offer := rewriteCredentials(remoteSDP, f.ufrag, f.pwd)
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadCandidate, err)
	}
	local, err := answerAndGather(ctx, s.pc)
	if err != nil {
		return "", err
	}
	return localFrag(local), nil
}

// answerAndGather creates and applies an answer and waits for all candidates, so
// the answer works without trickle.
func answerAndGather(ctx context.Context, pc *webrtc.PeerConnection) (string, error) {
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return pc.LocalDescription().SDP, nil
}

type fragCandidate struct{ mid, line string }

type frag struct {
	ufrag, pwd string
	candidates []fragCandidate
}

// parseFrag reads the lines of an application/trickle-ice-sdpfrag body (RFC 8840 §9).
func parseFrag(body string) (frag, error) {
	var f frag
	mid := "0"
	for _, raw := range strings.Split(body, "\n") {
		line := strings.TrimRight(raw, "\r")
		switch {
		case line == "":
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			f.ufrag = strings.TrimPrefix(line, "a=ice-ufrag:")
		case strings.HasPrefix(line, "a=ice-pwd:"):
			f.pwd = strings.TrimPrefix(line, "a=ice-pwd:")
		case strings.HasPrefix(line, "a=mid:"):
			mid = strings.TrimPrefix(line, "a=mid:")
		case strings.HasPrefix(line, "a=candidate:"):
			f.candidates = append(f.candidates, fragCandidate{mid: mid, line: strings.TrimPrefix(line, "a=")})
		case strings.HasPrefix(line, "a=end-of-candidates"), strings.HasPrefix(line, "m="),
			strings.HasPrefix(line, "a=group:"), strings.HasPrefix(line, "a=ice-options:"):
		default:
			return f, fmt.Errorf("%w: unexpected line %q", ErrBadCandidate, truncate(line, 60))
		}
	}
	if f.ufrag == "" && len(f.candidates) == 0 {
		return f, fmt.Errorf("%w: the fragment has neither candidates nor ICE credentials", ErrBadCandidate)
	}
	return f, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func currentUfrag(sdp string) string {
	for _, line := range strings.Split(sdp, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "a=ice-ufrag:"); ok {
			return v
		}
	}
	return ""
}

// rewriteCredentials turns the last remote offer into the restarted one: new
// credentials, no old candidates.
func rewriteCredentials(sdp, ufrag, pwd string) string {
	var b strings.Builder
	for _, raw := range strings.Split(sdp, "\n") {
		line := strings.TrimRight(raw, "\r")
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			line = "a=ice-ufrag:" + ufrag
		case strings.HasPrefix(line, "a=ice-pwd:"):
			line = "a=ice-pwd:" + pwd
		case strings.HasPrefix(line, "a=candidate:"), strings.HasPrefix(line, "a=end-of-candidates"):
			continue
		}
		b.WriteString(line)
		b.WriteString("\r\n")
	}
	return b.String()
}

// localFrag extracts the server's ICE credentials and candidates as an sdpfrag.
func localFrag(sdp string) string {
	var b strings.Builder
	seen := map[string]bool{}
	for _, raw := range strings.Split(sdp, "\n") {
		line := strings.TrimRight(raw, "\r")
		if strings.HasPrefix(line, "a=ice-ufrag:") || strings.HasPrefix(line, "a=ice-pwd:") ||
			strings.HasPrefix(line, "a=candidate:") || strings.HasPrefix(line, "a=mid:") {
			if seen[line] {
				continue // bundled sections repeat the same lines
			}
			seen[line] = true
			b.WriteString(line)
			b.WriteString("\r\n")
		}
	}
	return b.String()
}
