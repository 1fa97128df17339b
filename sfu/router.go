package sfu

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// slot is one place on a room's stage. Its feeds outlive a publisher that drops, so
// a republish within the grace period continues the same downstream tracks.
type slot struct {
	identity     string
	video, audio *feed
	pub          *publisher // nil while waiting for a republish
	grace        *time.Timer
	// noVideo and noAudio: its publisher's offer had no m-line of the kind.
	noVideo, noAudio bool
}

// sends reports whether the slot's publisher sends media of kind.
func (s *slot) sends(kind webrtc.RTPCodecType) bool {
	if kind == webrtc.RTPCodecTypeVideo {
		return !s.noVideo
	}
	return !s.noAudio
}

// pair is a subscriber's video and audio m-line pair that shows one slot.
type pair struct {
	video, audio *downTrack // either may be nil when the offer had fewer m-lines
	slot         *slot
}

func (p *pair) attach(s *slot) {
	p.slot = s
	if p.video != nil {
		s.video.add(p.video)
	}
	if p.audio != nil {
		s.audio.add(p.audio)
	}
}

func (p *pair) detach() {
	if p.slot == nil {
		return
	}
	if p.video != nil {
		p.slot.video.remove(p.video)
	}
	if p.audio != nil {
		p.slot.audio.remove(p.audio)
	}
	p.slot = nil
}

// Router is one room's stage: its publishers' slots and its subscribers.
type Router struct {
	id  string
	sfu *SFU
	log *slog.Logger

	mu        sync.Mutex
	slots     []*slot
	subs      map[*subscriber]struct{}
	taps      map[*Tap]struct{}
	videoMime string // the room's video codec, fixed by its first publisher
	videoFmtp string // and, for H.264, its profile
	pending   int    // publishers negotiating; a router with some is not dropped
	// speaker is the co-host named speaking; nextSpeaker the loudest last tick.
	speaker, nextSpeaker string
	started              time.Time
	ended                bool
}

// chooseVideo picks the codec a new publisher must send: the room's (for H.264,
// its profile too), so every subscriber's downstream track can carry every
// co-host; for the first publisher, its preferred codec that we forward.
func (r *Router) chooseVideo(info offerInfo) (mime, fmtp string, err error) {
	if len(info.video) == 0 {
		return "", "", nil
	}
	r.mu.Lock()
	roomMime, roomFmtp := r.videoMime, r.videoFmtp
	r.mu.Unlock()
	if roomMime != "" {
		if !offers(info.video, roomMime) || chooseFmtp(info.video, roomMime) != roomFmtp {
			return "", "", fmt.Errorf("%w: this room is live in %s; publish %s to join its stage", ErrNoCommonCodec, codecLabel(roomMime, roomFmtp), codecLabel(roomMime, roomFmtp))
		}
		return roomMime, roomFmtp, nil
	}
	if m := firstCodec(info.video, videoMimes()); m != "" {
		f := chooseFmtp(info.video, m)
		if strings.EqualFold(m, webrtc.MimeTypeH264) && f == "" {
			return "", "", fmt.Errorf("%w: H.264 needs packetization-mode=1 with the baseline, main or high profile", ErrNoCommonCodec)
		}
		return m, f, nil
	}
	return "", "", fmt.Errorf("%w: none of the offered video codecs is supported; offer VP8, VP9, H.264 or AV1", ErrNoCommonCodec)
}

// codecLabel names a codec for people: "VP8", "H.264 constrained-baseline".
func codecLabel(mime, fmtp string) string {
	if p := h264Profile(fmtp); p != "" {
		return "H.264 " + p
	}
	return codecName(mime)
}

func codecName(mime string) string {
	_, name, _ := strings.Cut(mime, "/")
	return strings.ToUpper(name)
}

// addPublisher puts p on the stage: into its identity's slot when one exists (a
// republish or a takeover), otherwise into a new slot. The room's video codec is
// fixed by its first publisher (VP8 when that one sends no video), so every
// subscriber's downstream tracks can carry every co-host. It returns the
// publisher taken over, which the caller closes, and emits the stage events.
func (r *Router) addPublisher(p *publisher, videoMime, videoFmtp string) (old *publisher, err error) {
	r.mu.Lock()
	r.pending--
	if r.ended {
		r.mu.Unlock()
		return nil, fmt.Errorf("%w: the room has just ended, publish again", ErrNotLive)
	}
	if r.videoMime == "" {
		r.videoMime, r.videoFmtp = cmp.Or(videoMime, strings.ToLower(webrtc.MimeTypeVP8)), videoFmtp
	} else if videoMime != "" && (videoMime != r.videoMime || videoFmtp != r.videoFmtp) {
		r.mu.Unlock()
		label := codecLabel(r.videoMime, r.videoFmtp)
		return nil, fmt.Errorf("%w: this room is live in %s; publish %s to join its stage", ErrNoCommonCodec, label, label)
	}
	var events []func(Observer)
	if i := slices.IndexFunc(r.slots, func(s *slot) bool { return s.identity == p.sess.Identity }); i >= 0 {
		s := r.slots[i]
		if s.grace != nil {
			s.grace.Stop()
			s.grace = nil
		}
		old, s.pub, p.slot = s.pub, p, s
		s.video.count.Store(int32(max(1, len(p.rids))))
		if s.noVideo != p.noVideo || s.noAudio != p.noAudio {
			s.noVideo, s.noAudio = p.noVideo, p.noAudio
			for t := range r.taps {
				t.slotUpdated(s)
			}
		}
	} else {
		if len(r.slots) >= r.sfu.cfg.MaxPublishers {
			r.mu.Unlock()
			return nil, fmt.Errorf("%w: %d co-hosts are live in this room already", ErrStageFull, len(r.slots))
		}
		vc, _ := capability(r.videoMime, r.videoFmtp)
		ac, _ := capability(webrtc.MimeTypeOpus)
		s := &slot{identity: p.sess.Identity, pub: p, noVideo: p.noVideo, noAudio: p.noAudio,
			video: newFeed(webrtc.RTPCodecTypeVideo, vc), audio: newFeed(webrtc.RTPCodecTypeAudio, ac)}
		s.video.count.Store(int32(max(1, len(p.rids))))
		r.slots = append(r.slots, s)
		p.slot = s
		for sub := range r.subs {
			sub.assign(s)
		}
		for t := range r.taps {
			t.slotAdded()
		}
		if len(r.slots) == 1 {
			r.started = time.Now().UTC()
			events = append(events, func(o Observer) { o.RoomStarted(r.id) })
		}
		id := s.identity
		events = append(events, func(o Observer) { o.PublisherJoined(r.id, id) })
	}
	r.sfu.emitUnlocking(&r.mu, events)
	return old, nil
}

// publisherLeft starts the slot's grace period if p still holds it.
func (r *Router) publisherLeft(p *publisher) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := p.slot
	if s == nil || s.pub != p {
		return
	}
	s.pub = nil
	s.grace = time.AfterFunc(r.sfu.cfg.RepublishGrace, func() { r.expire(s) })
}

// expire takes a slot off the stage once its grace period ran out; the room ends
// with its last slot.
func (r *Router) expire(s *slot) {
	r.mu.Lock()
	if s.pub != nil || r.ended {
		r.mu.Unlock()
		return
	}
	r.slots = slices.DeleteFunc(r.slots, func(x *slot) bool { return x == s })
	for sub := range r.subs {
		sub.unassign(s, r.slots)
	}
	for t := range r.taps {
		t.unassign(s, r.slots)
	}
	events := []func(Observer){func(o Observer) { o.PublisherLeft(r.id, s.identity) }}
	var closing []*subscriber
	ended := len(r.slots) == 0
	if ended {
		r.ended = true
		r.endTaps()
		for sub := range r.subs {
			closing = append(closing, sub)
		}
		events = append(events, func(o Observer) { o.RoomEnded(r.id) })
	}
	r.sfu.emitUnlocking(&r.mu, events)
	if ended {
		r.sfu.removeRoom(r)
		for _, sub := range closing {
			_ = sub.sess.Close()
		}
	}
}

// addSubscriber shows every slot but the subscriber's own on its m-line pairs.
func (r *Router) addSubscriber(sub *subscriber) error {
	r.mu.Lock()
	if r.ended || len(r.slots) == 0 {
		r.mu.Unlock()
		return ErrNotLive
	}
	if r.subs == nil {
		r.subs = map[*subscriber]struct{}{}
	}
	r.subs[sub] = struct{}{}
	for _, s := range r.slots {
		sub.assign(s)
	}
	id := sub.sess.ID
	r.sfu.emitUnlocking(&r.mu, []func(Observer){func(o Observer) { o.SubscriberJoined(r.id, id) }})
	return nil
}

func (r *Router) removeSubscriber(sub *subscriber) {
	r.mu.Lock()
	if _, ok := r.subs[sub]; !ok {
		r.mu.Unlock()
		return
	}
	delete(r.subs, sub)
	for _, p := range sub.pairs {
		p.detach()
	}
	id := sub.sess.ID
	r.sfu.emitUnlocking(&r.mu, []func(Observer){func(o Observer) { o.SubscriberLeft(r.id, id) }})
}

// live reports whether any slot is on the stage.
func (r *Router) live() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.ended && len(r.slots) > 0
}

// RoomInfo describes a live room.
type RoomInfo struct {
	ID          string    `json:"id"`
	StartedAt   time.Time `json:"started_at"`
	Publishers  []string  `json:"publishers"`
	Subscribers int       `json:"subscribers"`
	VideoCodec  string    `json:"video_codec,omitempty"`
}

func (r *Router) info() RoomInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	ri := RoomInfo{ID: r.id, StartedAt: r.started, Subscribers: len(r.subs), VideoCodec: r.videoMime}
	for _, s := range r.slots {
		ri.Publishers = append(ri.Publishers, s.identity)
	}
	return ri
}

// stop ends the room at shutdown: no grace timer outlives the SFU.
func (r *Router) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended = true
	r.endTaps()
	for _, s := range r.slots {
		if s.grace != nil {
			s.grace.Stop()
		}
	}
}

func (r *Router) isEnded() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ended
}

// kick takes identity's slot off the stage now: its publisher is closed and
// there is no grace period to come back in.
func (r *Router) kick(identity string) {
	r.mu.Lock()
	i := slices.IndexFunc(r.slots, func(s *slot) bool { return s.identity == identity })
	if i < 0 {
		r.mu.Unlock()
		return
	}
	s := r.slots[i]
	pub := s.pub
	s.pub = nil
	if s.grace != nil {
		s.grace.Stop()
		s.grace = nil
	}
	r.mu.Unlock()
	if pub != nil {
		_ = pub.sess.Close()
	}
	r.expire(s)
}
