package sfu

import (
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Payload types a tap sends with: dynamic ones (RFC 3551 §6), the same for
// every room so a receiver's SDP is predictable.
const (
	TapVideoPT uint8 = 96
	TapAudioPT uint8 = 111
)

// srInterval is how often a tap sends an RTCP sender report per track.
const srInterval = time.Second

// TapTrack is one track a Tap sends, with what a receiver's SDP needs to read
// it (RFC 8866 §6.6 rtpmap and fmtp).
type TapTrack struct {
	Slot int    // which of the tap's co-hosts: the stage's order
	Kind string // "video" or "audio"
	// Addr is where the RTP goes; sender reports go to the port above it
	// (RFC 3550 §11), so a receiver binds both.
	Addr        *net.UDPAddr
	MimeType    string // "video/VP8", "video/H264", "video/VP9", "video/AV1", "audio/opus"
	PayloadType uint8
	ClockRate   uint32
	Channels    uint16 // audio
	Fmtp        string // e.g. H.264's "packetization-mode=1;profile-level-id=42e01f"
	SSRC        uint32
}

// Codec is the encoding name of the track's mime type, as an rtpmap has it:
// "VP8", "H264", "opus".
func (t TapTrack) Codec() string {
	_, name, _ := strings.Cut(t.MimeType, "/")
	return name
}

// TapStats counts what a tap sent and what its queues dropped.
type TapStats struct {
	Packets, Bytes, Dropped uint64
}

// TapAddrs are where a tap sends one stage slot's tracks: RTP to each
// address, RTCP to the port above it. A nil address leaves that kind out.
type TapAddrs struct {
	Video, Audio *net.UDPAddr
}

// Tap sends a live room's media as plain RTP to loopback UDP, for a local
// receiver such as an ffmpeg egress job. It joins the stage like a viewer
// with one m-line pair per co-host: the i-th slot of the stage goes to the
// i-th addresses it was given, as many slots as it has addresses for. Each
// track has its own bounded queue and writer, so a slow tap loses only its
// own packets; once started it begins each video track at a keyframe
// (asking the publisher for one) and keeps one continuous stream across a
// publisher's republish. It also sends an RTCP sender report per track every
// second, all from one clock, which lets the receiver line the tracks up
// (RFC 3550 §6.4.1).
//
// A tap describes the stage as it was when it joined: when that changes (a
// co-host joins while the tap has addresses to spare, a co-host it shows
// leaves, or one starts or stops sending a kind of media) Changed is closed,
// and a receiver that lays the co-hosts out starts again with a new tap.
// Meanwhile a pair whose co-host left shows one it did not show, if any.
//
// The media plane knows nothing of the receiver beyond its addresses.
type Tap struct {
	room   *Router
	max    int     // slots it has addresses for
	pairs  []*pair // pairs[i] showed stage slot i when the tap joined
	tracks []TapTrack
	conns  []*net.UDPConn
	stats  counters
	alloc  *allocator

	done       chan struct{} // closed when the room ends or the tap closes
	changed    chan struct{} // closed when the stage no longer matches tracks
	endOnce    sync.Once
	changeOnce sync.Once
	closeOnce  sync.Once
}

// Tap joins room's stage to send the media of its first len(stage) slots
// (fewer when fewer co-hosts are live) to the given loopback addresses. The
// room must be live (ErrNotLive). It sends nothing until Start, so that the
// receiver can be started with the tap's Tracks first and get the first
// keyframe.
func (s *SFU) Tap(room string, stage []TapAddrs) (*Tap, error) {
	if len(stage) == 0 {
		return nil, fmt.Errorf("sfu: a tap needs an address for video or audio")
	}
	for _, sa := range stage {
		if sa.Video == nil && sa.Audio == nil {
			return nil, fmt.Errorf("sfu: a tap needs an address for video or audio of every slot")
		}
		for _, a := range []*net.UDPAddr{sa.Video, sa.Audio} {
			if a != nil && (!a.IP.IsLoopback() || a.Port <= 0 || a.Port >= 65535) {
				return nil, fmt.Errorf("sfu: a tap sends to a loopback address with a port below 65535, not %s", a)
			}
		}
	}
	r, err := s.router(room, false)
	if err != nil {
		return nil, err
	}
	if r == nil || !r.live() {
		return nil, fmt.Errorf("%w: room %q is not live right now", ErrNotLive, room)
	}
	r.mu.Lock()
	mime, fmtp := r.videoMime, r.videoFmtp
	shown := slices.Clone(r.slots[:min(len(stage), len(r.slots))])
	r.mu.Unlock()
	t := &Tap{room: r, max: len(stage), done: make(chan struct{}), changed: make(chan struct{})}
	vc, _ := capability(mime, fmtp)
	ac, _ := capability(webrtc.MimeTypeOpus)
	for i, sl := range shown {
		p := &pair{}
		t.pairs = append(t.pairs, p)
		for _, k := range []struct {
			addr  *net.UDPAddr
			kind  webrtc.RTPCodecType
			codec webrtc.RTPCodecCapability
			pt    uint8
			dst   **downTrack
		}{
			{stage[i].Video, webrtc.RTPCodecTypeVideo, vc, TapVideoPT, &p.video},
			{stage[i].Audio, webrtc.RTPCodecTypeAudio, ac, TapAudioPT, &p.audio},
		} {
			if k.addr == nil || !sl.sends(k.kind) {
				continue
			}
			w, err := t.dial(k.addr)
			if err != nil {
				t.closeConns()
				return nil, err
			}
			w.ssrc, w.clockRate = rand.Uint32(), k.codec.ClockRate
			d := newDownTrack(fmt.Sprintf("tap-%s-%d", k.kind, i), room, k.kind, k.codec, s.cfg.QueueLen, &t.stats)
			d.out.Store(&binding{w: w, ssrc: w.ssrc, pt: k.pt, clockRate: k.codec.ClockRate})
			*k.dst = d
			t.tracks = append(t.tracks, TapTrack{Slot: i, Kind: k.kind.String(), Addr: k.addr, MimeType: k.codec.MimeType, PayloadType: k.pt,
				ClockRate: k.codec.ClockRate, Channels: k.codec.Channels, Fmtp: k.codec.SDPFmtpLine, SSRC: w.ssrc})
		}
	}
	if len(t.tracks) == 0 {
		t.stop()
		return nil, fmt.Errorf("%w: room %q sends none of the kinds of media the tap has addresses for", ErrNotLive, room)
	}
	if err := r.addTap(t, shown); err != nil {
		t.stop()
		return nil, err
	}
	// Without an estimate, the allocator keeps each picture on the best
	// layer its publisher sends.
	var video []*downTrack
	for _, p := range t.pairs {
		if p.video != nil {
			video = append(video, p.video)
		}
	}
	t.alloc = newAllocator(video, 0)
	go t.alloc.run()
	return t, nil
}

// Start begins sending, and asks the publishers for keyframes to start the
// video with.
func (t *Tap) Start() {
	for _, d := range t.downTracks() {
		d.ready.Store(true)
	}
	t.RequestKeyframe()
}

func (t *Tap) downTracks() []*downTrack {
	var out []*downTrack
	for _, p := range t.pairs {
		for _, d := range []*downTrack{p.video, p.audio} {
			if d != nil {
				out = append(out, d)
			}
		}
	}
	return out
}

// dial opens the RTP socket to addr and the RTCP one to the port above it.
func (t *Tap) dial(addr *net.UDPAddr) (*tapWriter, error) {
	rtcpAddr := &net.UDPAddr{IP: addr.IP, Port: addr.Port + 1}
	w := &tapWriter{}
	var err error
	if w.rtp, err = net.DialUDP("udp", nil, addr); err != nil {
		return nil, fmt.Errorf("sfu: tap: %w", err)
	}
	t.conns = append(t.conns, w.rtp)
	if w.rtcp, err = net.DialUDP("udp", nil, rtcpAddr); err != nil {
		return nil, fmt.Errorf("sfu: tap: %w", err)
	}
	t.conns = append(t.conns, w.rtcp)
	return w, nil
}

// Tracks describes what the tap sends, slot by slot, video before audio.
func (t *Tap) Tracks() []TapTrack { return append([]TapTrack(nil), t.tracks...) }

// RequestKeyframe asks the publishers the tap shows for keyframes (throttled
// like every keyframe request): a receiver that starts or restarts, or cuts
// segments, needs one.
func (t *Tap) RequestKeyframe() {
	for _, p := range t.pairs {
		if p.video != nil {
			p.video.requestKeyframe()
		}
	}
}

// Done is closed when the room ends (or the SFU closes, or the tap is closed):
// the tap sends nothing more.
func (t *Tap) Done() <-chan struct{} { return t.done }

// Changed is closed when the stage no longer matches the tap's Tracks.
func (t *Tap) Changed() <-chan struct{} { return t.changed }

// Stats counts the packets the tap sent and those its queues dropped.
func (t *Tap) Stats() TapStats {
	return TapStats{Packets: t.stats.packetsOut.Load(), Bytes: t.stats.bytesOut.Load(), Dropped: t.stats.dropped.Load()}
}

// Close takes the tap off the stage and releases its sockets.
func (t *Tap) Close() error {
	t.room.removeTap(t)
	t.stop()
	return nil
}

func (t *Tap) stop() {
	t.closeOnce.Do(func() {
		if t.alloc != nil {
			t.alloc.close()
		}
		for _, d := range t.downTracks() {
			d.close()
		}
		t.closeConns()
		t.end()
	})
}

func (t *Tap) closeConns() {
	for _, c := range t.conns {
		_ = c.Close()
	}
}

func (t *Tap) end() { t.endOnce.Do(func() { close(t.done) }) }

func (t *Tap) change() { t.changeOnce.Do(func() { close(t.changed) }) }

// shows reports whether the tap shows s; called with the router locked.
func (t *Tap) shows(s *slot) bool {
	return slices.ContainsFunc(t.pairs, func(p *pair) bool { return p.slot == s })
}

// slotAdded notes a co-host joining; called with the router locked.
func (t *Tap) slotAdded() {
	if len(t.pairs) < t.max {
		t.change()
	}
}

// slotUpdated notes that s now sends other kinds of media (a republish
// without video, say); called with the router locked.
func (t *Tap) slotUpdated(s *slot) {
	for _, p := range t.pairs {
		if p.slot == s && ((p.video != nil) != s.sends(webrtc.RTPCodecTypeVideo) || (p.audio != nil) != s.sends(webrtc.RTPCodecTypeAudio)) {
			t.change()
		}
	}
}

// unassign moves the pair that showed s to a remaining slot the tap does
// not show, if any; called with the router locked.
func (t *Tap) unassign(s *slot, remaining []*slot) {
	for _, p := range t.pairs {
		if p.slot != s {
			continue
		}
		t.change()
		p.detach()
		for _, o := range remaining {
			if !t.shows(o) {
				p.attach(o)
				break
			}
		}
	}
}

// addTap puts t on the stage, each pair showing the slot it was made for.
func (r *Router) addTap(t *Tap, shown []*slot) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended || len(r.slots) == 0 {
		return fmt.Errorf("%w: room %q has just ended", ErrNotLive, r.id)
	}
	if r.taps == nil {
		r.taps = map[*Tap]struct{}{}
	}
	r.taps[t] = struct{}{}
	for i, p := range t.pairs {
		if slices.Contains(r.slots, shown[i]) {
			p.attach(shown[i])
		} else {
			t.change() // it left while the tap was being made
		}
	}
	if len(t.pairs) < min(t.max, len(r.slots)) {
		t.change()
	}
	return nil
}

func (r *Router) removeTap(t *Tap) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.taps[t]; ok {
		delete(r.taps, t)
		for _, p := range t.pairs {
			p.detach()
		}
	}
}

// endTaps tells every tap the room ended; called with the router locked
// (closing a channel takes no other lock).
func (r *Router) endTaps() {
	for t := range r.taps {
		t.end()
	}
}

// tapWriter writes a tap track's RTP to its UDP socket, with a sender report
// every srInterval. Only the track's writer goroutine calls it.
type tapWriter struct {
	rtp, rtcp *net.UDPConn
	ssrc      uint32
	clockRate uint32
	buf       [maxPacket]byte
	lastSR    time.Time
	packets   uint32
	octets    uint32
}

// WriteRTP marshals the header and payload into one datagram. A receiver not
// yet listening makes writes fail; the packet is lost, as on a network.
func (w *tapWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	now := time.Now()
	if now.Sub(w.lastSR) >= srInterval {
		w.lastSR = now
		w.senderReport(now, h.Timestamp)
	}
	n, err := h.MarshalTo(w.buf[:])
	if err != nil {
		return 0, err
	}
	if n+len(payload) > len(w.buf) {
		return 0, fmt.Errorf("sfu: tap: a %d-byte packet does not fit", n+len(payload))
	}
	n += copy(w.buf[n:], payload)
	w.packets++
	w.octets += uint32(len(payload))
	return w.rtp.Write(w.buf[:n])
}

func (w *tapWriter) Write(b []byte) (int, error) { return w.rtp.Write(b) }

// senderReport maps the wall clock to the RTP timestamp of the packet being
// sent now (RFC 3550 §6.4.1); every track of a tap uses the same clock, so a
// receiver can synchronise them.
func (w *tapWriter) senderReport(now time.Time, ts uint32) {
	b, err := (&rtcp.SenderReport{SSRC: w.ssrc, NTPTime: ntpTime(now), RTPTime: ts, PacketCount: w.packets, OctetCount: w.octets}).Marshal()
	if err == nil {
		_, _ = w.rtcp.Write(b)
	}
}

// ntpTime is t as a 64-bit NTP timestamp: seconds since 1900 in the high 32
// bits, the fraction in the low 32 (RFC 3550 §4).
func ntpTime(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800 // seconds from 1900 to 1970
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return secs<<32 | frac
}
