package sfu

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// Observer hears about stage changes; calls are made without locks held, in order
// per room.
type Observer interface {
	RoomStarted(room string)
	RoomEnded(room string)
	PublisherJoined(room, identity string)
	PublisherLeft(room, identity string)
	// SubscriberJoined and SubscriberLeft bracket each WHEP session on the stage;
	// a left always follows its joined.
	SubscriberJoined(room, session string)
	SubscriberLeft(room, session string)
}

// SFU is the media plane of one node.
type SFU struct {
	cfg Config
	log *slog.Logger
	se  webrtc.SettingEngine
	mux io.Closer
	obs Observer

	mu       sync.Mutex
	rooms    map[string]*Router
	sessions map[string]*Session
	closed   bool

	stats counters
	corks corks         // viewer addresses whose packets are held (cork.go)
	obsMu sync.Mutex    // keeps observer calls in order
	quit  chan struct{} // closed by Close: stops the SFU's own goroutines
}

// New opens the shared UDP port and returns an SFU ready to take sessions.
func New(cfg Config, log *slog.Logger, obs Observer) (*SFU, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &SFU{cfg: cfg, log: log.With("component", "sfu"), obs: obs,
		rooms: map[string]*Router{}, sessions: map[string]*Session{}, quit: make(chan struct{})}

	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	if cfg.LoopbackOnly {
		s.se.SetIncludeLoopbackCandidate(true)
		s.se.SetInterfaceFilter(isLoopback)
	}
	mux, err := newUDPMux(max(cfg.UDPPort, 0), cfg.LoopbackOnly, &s.corks, &s.stats)
	if err != nil {
		return nil, fmt.Errorf("sfu: open UDP port %d: %w", cfg.UDPPort, err)
	}
	s.mux = mux
	s.se.SetICEUDPMux(mux)
	s.se.SetNetworkTypes(networks)
	s.se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	s.se.SetICETimeouts(4*time.Second, 8*time.Second, 2*time.Second)
	if len(cfg.PublicIPs) > 0 {
		s.se.SetNAT1To1IPs(cfg.PublicIPs, webrtc.ICECandidateTypeHost)
	}
	go s.watchSpeakers()
	return s, nil
}

func isLoopback(name string) bool { return name == "lo" || strings.HasPrefix(name, "lo0") }

// UDPAddrs lists the local addresses of the shared ICE port.
func (s *SFU) UDPAddrs() []net.Addr {
	if m, ok := s.mux.(interface{ GetListenAddresses() []net.Addr }); ok {
		return m.GetListenAddresses()
	}
	return nil
}

// ICEServers are the STUN/TURN servers clients should use.
func (s *SFU) ICEServers() []ICEServer { return s.cfg.ICEServers }

func (s *SFU) rtcConfig() webrtc.Configuration {
	var c webrtc.Configuration
	for _, is := range s.cfg.ICEServers {
		c.ICEServers = append(c.ICEServers, webrtc.ICEServer{URLs: is.URLs, Username: is.Username, Credential: is.Credential})
	}
	return c
}

// emitUnlocking releases a router's lock and delivers its events in the order the
// stage changed: obsMu is taken before the router unlocks, so a later change of
// the same room (even by a new router) cannot overtake these events. Lock order:
// Router.mu → obsMu; observers must not call back into the SFU.
func (s *SFU) emitUnlocking(mu *sync.Mutex, events []func(Observer)) {
	if s.obs == nil || len(events) == 0 {
		mu.Unlock()
		return
	}
	s.obsMu.Lock()
	mu.Unlock()
	defer s.obsMu.Unlock()
	for _, e := range events {
		e(s.obs)
	}
}

func (s *SFU) router(room string, create bool) (*Router, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	r := s.rooms[room]
	if create && (r == nil || r.isEnded()) {
		r = &Router{id: room, sfu: s, log: s.log.With("room", room)}
		s.rooms[room] = r
	}
	if create {
		r.mu.Lock()
		r.pending++
		r.mu.Unlock()
	}
	return r, nil
}

func (s *SFU) removeRoom(r *Router) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rooms[r.id] == r {
		delete(s.rooms, r.id)
	}
}

// release gives up a Publish call's claim on a router, and removes the router if
// no publisher is on it or on its way (the publish failed).
func (s *SFU) release(r *Router) {
	r.mu.Lock()
	r.pending--
	empty := len(r.slots) == 0 && r.pending == 0 && !r.ended
	if empty {
		r.ended = true
	}
	r.mu.Unlock()
	if empty {
		s.removeRoom(r)
	}
}

// track makes a session findable; one that finishes negotiating after Close is
// closed instead.
func (s *SFU) track(sess *Session) error {
	s.mu.Lock()
	closed := s.closed
	if !closed {
		s.sessions[sess.ID] = sess
	}
	s.mu.Unlock()
	if closed {
		_ = sess.Close()
		return ErrClosed
	}
	return nil
}

func (s *SFU) untrack(sess *Session) {
	s.mu.Lock()
	delete(s.sessions, sess.ID)
	s.mu.Unlock()
}

// Session finds a live session by id; ErrSessionNotFound otherwise.
func (s *SFU) Session(id string) (*Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess, ok := s.sessions[id]; ok {
		return sess, nil
	}
	return nil, ErrSessionNotFound
}

func (s *SFU) newPeer(se webrtc.SettingEngine, videoMime, videoFmtp string, bwe *bweConfig) (*webrtc.PeerConnection, error) {
	api, err := newAPI(se, videoMime, videoFmtp, bwe)
	if err != nil {
		return nil, err
	}
	return api.NewPeerConnection(s.rtcConfig())
}

// Publish puts a WHIP publisher with the given identity on the room's stage. A
// publisher whose identity already holds a slot takes it over, so viewers keep
// playing across a republish. It returns the session and the SDP answer.
func (s *SFU) Publish(ctx context.Context, room, identity, offer string) (*Session, string, error) {
	info, err := parseOffer(offer)
	if err != nil {
		return nil, "", err
	}
	for _, m := range append(append([]mediaInfo{}, info.video...), info.audio...) {
		if m.direction == "recvonly" || m.direction == "inactive" {
			return nil, "", fmt.Errorf("%w: a WHIP offer sends media; this one has a %s section", ErrBadOffer, m.direction)
		}
	}
	if len(info.video)+len(info.audio) == 0 {
		return nil, "", fmt.Errorf("%w: the offer has no audio or video to publish", ErrBadOffer)
	}
	if len(info.audio) > 0 && !offers(info.audio, webrtc.MimeTypeOpus) {
		return nil, "", fmt.Errorf("%w: audio must be Opus", ErrNoCommonCodec)
	}
	if err := checkSimulcast(info); err != nil {
		return nil, "", err
	}
	r, err := s.router(room, true)
	if err != nil {
		return nil, "", err
	}
	defer s.release(r)
	mime, fmtp, err := r.chooseVideo(info)
	if err != nil {
		return nil, "", err
	}
	pc, err := s.newPeer(s.se, mime, fmtp, nil)
	if err != nil {
		return nil, "", err
	}
	sess := &Session{ID: newSessionID(), Room: room, Role: RolePublisher, Identity: identity, pc: pc, etag: newETag(), done: make(chan struct{})}
	p := &publisher{sess: sess, router: r, ready: make(chan struct{}), stats: &s.stats, cfg: s.cfg,
		noVideo: len(info.video) == 0, noAudio: len(info.audio) == 0}
	if len(info.video) > 0 {
		p.rids = rankRIDs(info.video[0].rids)
	}
	sess.cleanup = func() {
		s.untrack(sess)
		r.publisherLeft(p)
	}
	sess.acceptDataChannel()
	pc.OnTrack(p.onTrack)
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		s.log.Debug("publisher state", "room", room, "session", sess.ID, "state", st.String())
		if st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
			_ = sess.Close()
		}
	})
	answer, err := s.negotiate(ctx, pc, offer, func() error { return preferRED(pc, info) })
	if err != nil {
		_ = sess.Close()
		return nil, "", err
	}
	old, err := r.addPublisher(p, mime, fmtp)
	if err != nil {
		_ = sess.Close()
		return nil, "", err
	}
	close(p.ready)
	if len(p.rids) > 1 {
		go p.watchLayers()
	}
	if old != nil {
		_ = old.sess.Close()
	}
	select {
	case <-sess.done: // the peer went away while it was being added
		r.publisherLeft(p)
		return nil, "", fmt.Errorf("%w: the connection closed during negotiation", ErrBadOffer)
	default:
	}
	if err := s.track(sess); err != nil {
		return nil, "", err
	}
	s.log.Info("publisher joined", "room", room, "session", sess.ID, "video", mime, "takeover", old != nil)
	return sess, answer, nil
}

// Subscribe plays a room over WHEP. The offer's i-th video and audio m-lines show
// the i-th co-host; identity, when it names a publisher of the room, leaves that
// publisher's own tracks out.
func (s *SFU) Subscribe(ctx context.Context, room, identity, offer string) (*Session, string, error) {
	info, err := parseOffer(offer)
	if err != nil {
		return nil, "", err
	}
	r, err := s.router(room, false)
	if err != nil {
		return nil, "", err
	}
	if r == nil || !r.live() {
		return nil, "", fmt.Errorf("%w: room %q is not live right now", ErrNotLive, room)
	}
	r.mu.Lock()
	mime, fmtp := r.videoMime, r.videoFmtp
	r.mu.Unlock()
	if mime == "" {
		mime = strings.ToLower(webrtc.MimeTypeVP8)
	}
	if len(info.video) > 0 && !offers(info.video, mime) {
		return nil, "", fmt.Errorf("%w: this room is live in %s and the player offered none", ErrNoCommonCodec, codecName(mime))
	}
	if len(info.audio) > 0 && !offers(info.audio, webrtc.MimeTypeOpus) {
		return nil, "", fmt.Errorf("%w: the room's audio is Opus and the player offered none", ErrNoCommonCodec)
	}
	// The viewer's SRTP keys are caught from its handshake for the wire (wire.go).
	se, keys := s.se, &keyCatcher{}
	if err := keys.install(&se); err != nil {
		return nil, "", err
	}
	pc, err := s.newPeer(se, mime, "", &bweConfig{start: s.cfg.StartBitrate, min: minBitrate, max: s.cfg.MaxBitrate})
	if err != nil {
		return nil, "", err
	}
	sess := &Session{ID: newSessionID(), Room: room, Role: RoleSubscriber, Identity: identity, pc: pc, etag: newETag(), done: make(chan struct{})}
	sub := &subscriber{sess: sess, stats: &s.stats, path: newPathEstimator(s.cfg.StartBitrate, minBitrate, s.cfg.MaxBitrate)}
	vc, _ := capability(mime, fmtp)
	ac, _ := capability(webrtc.MimeTypeOpus)
	n := min(max(len(info.video), len(info.audio)), s.cfg.MaxPublishers)
	for i := range n {
		p := &pair{}
		stream := fmt.Sprintf("%s-%d", room, i)
		if i < len(info.video) {
			p.video = newDownTrack(fmt.Sprintf("video-%d", i), stream, webrtc.RTPCodecTypeVideo, vc, s.cfg.QueueLen, &s.stats)
			p.video.want.Store(startLayer)
			p.video.playout = playoutDelay(0, s.cfg.PlayoutDelayMax)
		}
		if i < len(info.audio) {
			p.audio = newDownTrack(fmt.Sprintf("audio-%d", i), stream, webrtc.RTPCodecTypeAudio, ac, s.cfg.QueueLen, &s.stats)
		}
		sub.pairs = append(sub.pairs, p)
	}
	sub.alloc = sub.newAllocator()
	sub.alloc.setEstimator(sub.path)
	for _, d := range sub.downTracks() {
		d.path = sub.path
	}
	go sub.alloc.run()
	sess.layers = sub.setLayer
	var dst atomic.Pointer[netip.AddrPort]
	// The viewer's packets are held per its address (cork.go), which ICE
	// chooses and may change (a restart).
	pc.SCTP().Transport().ICETransport().OnSelectedCandidatePairChange(func(p *webrtc.ICECandidatePair) {
		ip, err := netip.ParseAddr(p.Remote.Address)
		if err != nil {
			return
		}
		a := netip.AddrPortFrom(ip.Unmap(), p.Remote.Port)
		if old := dst.Swap(&a); old != nil {
			s.corks.drop(*old)
		}
		k := s.corks.get(a)
		if ip, err := netip.ParseAddr(p.Local.Address); err == nil {
			k.pin(&s.corks, netip.AddrPortFrom(ip.Unmap(), p.Local.Port))
		}
		for _, d := range sub.downTracks() {
			d.cork.Store(k)
		}
		if in := sub.in.Load(); in != nil {
			k.in.Store(in)
		}
	})
	sess.cleanup = func() {
		s.untrack(sess)
		r.removeSubscriber(sub)
		sub.alloc.close()
		sub.close()
		if a := dst.Load(); a != nil {
			s.corks.drop(*a)
		}
	}
	fail := func(err error) (*Session, string, error) {
		_ = sess.Close()
		return nil, "", err
	}
	for _, d := range sub.downTracks() {
		sender, err := pc.AddTrack(d)
		if err != nil {
			return fail(err)
		}
		go sub.readRTCP(sender, d)
	}
	sess.acceptDataChannel()
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		s.log.Debug("subscriber state", "room", room, "session", sess.ID, "state", st.String())
		switch st {
		case webrtc.PeerConnectionStateConnected:
			if err := sub.goOnWire(keys); err != nil {
				s.log.Debug("viewer stays on pion's write path", "room", room, "session", sess.ID, "reason", err)
			}
			sub.connected()
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			_ = sess.Close()
		}
	})
	answer, err := s.negotiate(ctx, pc, offer, nil)
	if err != nil {
		return fail(err)
	}
	if err := r.addSubscriber(sub); err != nil {
		return fail(fmt.Errorf("%w: room %q is not live right now", err, room))
	}
	select {
	case <-sess.done: // closed while being added: take it off again
		r.removeSubscriber(sub)
		return nil, "", fmt.Errorf("%w: the connection closed during negotiation", ErrBadOffer)
	default:
	}
	if err := s.track(sess); err != nil {
		return nil, "", err
	}
	return sess, answer, nil
}

// negotiate answers offer; prepare, when set, runs between the offer and
// the answer (codec preferences).
func (s *SFU) negotiate(ctx context.Context, pc *webrtc.PeerConnection, offer string, prepare func() error) (string, error) {
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	if prepare != nil {
		if err := prepare(); err != nil {
			return "", err
		}
	}
	return answerAndGather(ctx, pc)
}

// Kick ends identity's stream in room at once (a ban, a rotated stream key):
// its viewers lose that co-host without waiting for a republish.
func (s *SFU) Kick(room, identity string) {
	if r, _ := s.router(room, false); r != nil {
		r.kick(identity)
	}
}

// Rooms lists the live rooms.
func (s *SFU) Rooms() []RoomInfo {
	s.mu.Lock()
	rs := make([]*Router, 0, len(s.rooms))
	for _, r := range s.rooms {
		rs = append(rs, r)
	}
	s.mu.Unlock()
	out := make([]RoomInfo, 0, len(rs))
	for _, r := range rs {
		if ri := r.info(); len(ri.Publishers) > 0 {
			out = append(out, ri)
		}
	}
	return out
}

// Stats returns the media plane's counters and gauges.
func (s *SFU) Stats() Stats {
	st := s.stats.snapshot()
	s.mu.Lock()
	defer s.mu.Unlock()
	st.Rooms = len(s.rooms)
	for _, sess := range s.sessions {
		if sess.Role == RolePublisher {
			st.Publishers++
		} else {
			st.Subscribers++
		}
	}
	return st
}

// Close ends every session and releases the UDP port.
func (s *SFU) Close() error {
	s.mu.Lock()
	if !s.closed {
		close(s.quit)
	}
	s.closed = true
	sessions := make([]*Session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	rooms := make([]*Router, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	for _, sess := range sessions {
		_ = sess.Close()
	}
	for _, r := range rooms {
		r.stop()
	}
	return s.mux.Close()
}
