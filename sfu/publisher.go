package sfu

import (
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/onair-live/onair/internal/keyframe"
)

// publisher reads one WHIP session's tracks into its slot's feeds.
type publisher struct {
	sess   *Session
	router *Router
	slot   *slot         // set by Router.addPublisher before ready closes
	ready  chan struct{} // closed once the publisher is on the stage
	// takenAudio and takenVideo: a track of the kind (and layer) feeds the
	// slot already; a second one is read and discarded.
	takenAudio atomic.Bool
	takenVideo [maxLayers]atomic.Bool
	// rids are the offer's simulcast RIDs, lowest layer first; empty
	// without simulcast.
	rids []string
	// noVideo and noAudio: the offer had no m-line of the kind.
	noVideo, noAudio bool
	stats            *counters
	cfg              Config
}

// onTrack serves pion's OnTrack: the first audio track and each simulcast
// layer's video track (one without simulcast) feed the slot; any further one
// is read and discarded so pion's buffers never fill.
func (p *publisher) onTrack(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	go drainRTCP(recv, remote.RID())
	select {
	case <-p.ready:
	case <-p.sess.done:
		return
	}
	kind := remote.Kind()
	if kind != webrtc.RTPCodecTypeVideo && kind != webrtc.RTPCodecTypeAudio {
		return
	}
	f, taken, l := p.slot.audio, &p.takenAudio, 0
	if kind == webrtc.RTPCodecTypeVideo {
		f, l = p.slot.video, p.layerOf(remote.RID())
		if l < 0 {
			discard(remote) // a RID the offer did not announce
			return
		}
		taken = &p.takenVideo[l]
	}
	if !taken.CompareAndSwap(false, true) {
		discard(remote)
		return
	}
	if !strings.EqualFold(remote.Codec().MimeType, f.codec.MimeType) && !(kind == webrtc.RTPCodecTypeAudio && isRED(remote.Codec().MimeType)) {
		// Negotiation allows only the slot's codec; never forward another under its name.
		discard(remote)
		return
	}
	u := &upstream{pc: p.sess.pc, ssrc: uint32(remote.SSRC()), throttle: p.cfg.PLIThrottle, stats: p.stats}
	ly := &f.layers[l]
	ly.up.Store(u)
	levelID, redPT := uint8(0), -1
	if kind == webrtc.RTPCodecTypeAudio {
		params := recv.GetParameters()
		levelID = extensionID(params.HeaderExtensions, sdp.AudioLevelURI)
		for _, c := range params.Codecs {
			if isRED(c.MimeType) {
				redPT = int(c.PayloadType)
			}
		}
	}
	p.read(remote, f, u, uint8(l), levelID, redPT)
	if ly.up.CompareAndSwap(u, nil) {
		ly.gop.reset()
	}
}

// layerOf is the layer of the video track with RID rid: its rank among the
// offer's RIDs; 0 for a publisher without simulcast; -1 for a RID the offer
// did not announce.
func (p *publisher) layerOf(rid string) int {
	if len(p.rids) == 0 {
		if rid == "" {
			return 0
		}
		return -1
	}
	return slices.Index(p.rids, rid)
}

// read is the ingest hot path: one pooled packet per RTP packet, shared by all
// subscribers; video goes out a frame at a time (frame.go).
func (p *publisher) read(remote *webrtc.TrackRemote, f *feed, u *upstream, l, levelID uint8, redPT int) {
	video := f.kind == webrtc.RTPCodecTypeVideo
	ly := &f.layers[l]
	isKey := keyframe.Detector(remote.Codec().MimeType)
	var frames framer
	defer func() {
		if frames.fr != nil {
			frames.fr.release()
		}
	}()
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
		media := pkt.payload[:len(pkt.payload)-padding(&pkt.hdr, pkt.payload)]
		pkt.keyframe = video && isKey != nil && isKey(media)
		pkt.src = u
		pkt.layer = l
		pkt.red = int(pkt.hdr.PayloadType) == redPT
		p.stats.packetsIn.Add(1)
		p.stats.bytesIn.Add(uint64(n))
		now := time.Now().UnixNano()
		ly.bytes.Add(uint64(len(media)))
		ly.last.Store(now)
		if video {
			ly.gop.add(pkt, now)
		} else if levelID != 0 {
			if e := pkt.hdr.GetExtension(levelID); len(e) > 0 {
				f.level(e[0])
			}
		}
		if video {
			frames.add(f, pkt)
		} else {
			f.forward(pkt)
			pkt.release()
		}
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

// drainRTCP keeps reading a receiver's RTCP so the interceptors see it;
// a simulcast receiver's per layer.
func drainRTCP(r *webrtc.RTPReceiver, rid string) {
	buf := make([]byte, maxPacket)
	for {
		var err error
		if rid == "" {
			_, _, err = r.Read(buf)
		} else {
			_, _, err = r.ReadSimulcast(buf, rid)
		}
		if err != nil {
			return
		}
	}
}
