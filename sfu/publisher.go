package sfu

import (
	"strings"
	"sync/atomic"

	"github.com/pion/webrtc/v4"

	"github.com/onair-live/onair/internal/keyframe"
)

// publisher reads one WHIP session's tracks into its slot's feeds.
type publisher struct {
	sess   *Session
	router *Router
	slot   *slot         // set by Router.addPublisher before ready closes
	ready  chan struct{} // closed once the publisher is on the stage
	taken  [3]atomic.Bool
	// noVideo and noAudio: the offer had no m-line of the kind.
	noVideo, noAudio bool
	stats            *counters
	cfg              Config
}

// onTrack serves pion's OnTrack: the first track of each kind feeds the slot; any
// further one (an extra simulcast layer) is read and discarded so pion's buffers
// never fill.
func (p *publisher) onTrack(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	go drainRTCP(recv)
	select {
	case <-p.ready:
	case <-p.sess.done:
		return
	}
	kind := remote.Kind()
	if kind != webrtc.RTPCodecTypeVideo && kind != webrtc.RTPCodecTypeAudio {
		return
	}
	if !p.taken[kind].CompareAndSwap(false, true) {
		discard(remote)
		return
	}
	f := p.slot.audio
	if kind == webrtc.RTPCodecTypeVideo {
		f = p.slot.video
	}
	if !strings.EqualFold(remote.Codec().MimeType, f.codec.MimeType) {
		// Negotiation allows only the slot's codec; never forward another under its name.
		discard(remote)
		return
	}
	u := &upstream{pc: p.sess.pc, ssrc: uint32(remote.SSRC()), throttle: p.cfg.PLIThrottle, stats: p.stats}
	f.up.Store(u)
	p.read(remote, f, u)
	f.up.CompareAndSwap(u, nil)
}

// read is the ingest hot path: one pooled packet per RTP packet, shared by all
// subscribers.
func (p *publisher) read(remote *webrtc.TrackRemote, f *feed, u *upstream) {
	video := f.kind == webrtc.RTPCodecTypeVideo
	isKey := keyframe.Detector(remote.Codec().MimeType)
	for {
		pkt := getPacket()
		n, _, err := remote.Read(pkt.buf[:])
		if err != nil {
			pkt.release()
			return
		}
		hlen, err := pkt.hdr.Unmarshal(pkt.buf[:n])
		if err != nil {
			pkt.release()
			continue
		}
		pkt.payload = pkt.buf[hlen:n]
		media := pkt.payload
		if pkt.hdr.Padding && len(media) > 0 {
			if pad := int(media[len(media)-1]); pad <= len(media) {
				media = media[:len(media)-pad]
			}
		}
		pkt.keyframe = video && isKey != nil && isKey(media)
		pkt.src = u
		p.stats.packetsIn.Add(1)
		p.stats.bytesIn.Add(uint64(n))
		f.forward(pkt)
		pkt.release()
	}
}

func discard(remote *webrtc.TrackRemote) {
	buf := make([]byte, maxPacket)
	for {
		if _, _, err := remote.Read(buf); err != nil {
			return
		}
	}
}

// drainRTCP keeps reading a receiver's RTCP so the interceptors see it.
func drainRTCP(r *webrtc.RTPReceiver) {
	buf := make([]byte, maxPacket)
	for {
		if _, _, err := r.Read(buf); err != nil {
			return
		}
	}
}
