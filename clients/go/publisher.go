package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/bits"
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// Payload types the publisher offers: exactly one codec per kind, the one
// its source produces, so the answer cannot pick another.
const (
	videoPayloadType = 96
	audioPayloadType = 111
)

// Publisher is a WHIP session sending up to one video and one audio track.
// Its methods may be called from any goroutine.
type Publisher struct {
	o        Options
	pc       *webrtc.PeerConnection
	location string
	state    *connState
	video    *senderCounters
	audio    *senderCounters
	sources  []Source
	cancel   context.CancelFunc // stops the sample pumps
	wg       sync.WaitGroup     // pumps and RTCP readers

	errMu sync.Mutex
	err   error

	closeOnce sync.Once
	closeErr  error
}

// Publish starts a WHIP session (RFC 9725): it offers a sendonly transceiver
// for each non-nil source, POSTs the complete offer (non-trickle) to
// {BaseURL}/whip/{Room} with the stream key as Bearer token, and expects 201
// Created with a Location. Samples flow once the peer connection is
// connected; a PLI or FIR from the server asks a source that implements
// KeyframeRequester for a keyframe.
//
// ctx bounds the signalling exchange only; the session lasts until Close.
// Publish takes ownership of the sources: Close closes them, and so does
// Publish when it fails. A non-201 answer is returned as *HTTPError.
func Publish(ctx context.Context, o Options, video, audio Source) (*Publisher, error) {
	p, err := publish(ctx, o, video, audio)
	if err != nil {
		for _, s := range []Source{video, audio} {
			if s != nil {
				_ = s.Close()
			}
		}
		return nil, err
	}
	return p, nil
}

// outTrack is one track a publisher sends.
type outTrack struct {
	src   Source
	kind  webrtc.RTPCodecType
	c     *senderCounters
	track *webrtc.TrackLocalStaticSample
}

func publish(ctx context.Context, o Options, video, audio Source) (*Publisher, error) {
	if video == nil && audio == nil {
		return nil, ErrNoSource
	}
	endpoint, err := o.endpoint("whip")
	if err != nil {
		return nil, err
	}
	p := &Publisher{o: o, state: newConnState()}

	// Offer exactly the sources' codecs, one payload type per kind.
	m := &webrtc.MediaEngine{}
	var outs []*outTrack
	for _, s := range []struct {
		src  Source
		kind webrtc.RTPCodecType
		pt   webrtc.PayloadType
	}{{video, webrtc.RTPCodecTypeVideo, videoPayloadType}, {audio, webrtc.RTPCodecTypeAudio, audioPayloadType}} {
		if s.src == nil {
			continue
		}
		if k := sourceKind(s.src); k != s.kind {
			return nil, fmt.Errorf("onair: the %s source produces %s", s.kind, s.src.Codec().MimeType)
		}
		codec := webrtc.RTPCodecParameters{RTPCodecCapability: s.src.Codec(), PayloadType: s.pt}
		if err := m.RegisterCodec(codec, s.kind); err != nil {
			return nil, fmt.Errorf("onair: register %s: %w", codec.MimeType, err)
		}
		out := &outTrack{src: s.src, kind: s.kind, c: &senderCounters{kind: s.kind.String(), codec: codec.MimeType}}
		if s.kind == webrtc.RTPCodecTypeVideo {
			p.video = out.c
		} else {
			p.audio = out.c
		}
		outs = append(outs, out)
		p.sources = append(p.sources, s.src)
	}
	api, err := o.newAPI(m, &countingFactory{video: p.video, audio: p.audio})
	if err != nil {
		return nil, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("onair: new peer connection: %w", err)
	}
	p.pc = pc
	pumpCtx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		p.state.update(s)
		if s == webrtc.PeerConnectionStateFailed {
			cancel()
		}
	})
	fail := func(err error) (*Publisher, error) {
		cancel()
		_ = pc.Close()
		p.wg.Wait()
		return nil, err
	}

	streamID := "onair-" + randomID()
	for _, out := range outs {
		if out.track, err = webrtc.NewTrackLocalStaticSample(out.src.Codec(), out.kind.String(), streamID); err != nil {
			return fail(fmt.Errorf("onair: new %s track: %w", out.kind, err))
		}
		tr, err := pc.AddTransceiverFromTrack(out.track,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return fail(fmt.Errorf("onair: add %s transceiver: %w", out.kind, err))
		}
		p.wg.Add(1)
		go p.readRTCP(tr.Sender(), out.src, out.c)
	}

	if p.location, err = offer(ctx, o, pc, endpoint); err != nil {
		return fail(err)
	}
	for _, out := range outs {
		p.wg.Add(1)
		go p.pump(pumpCtx, out)
	}
	return p, nil
}

// pump writes the source's samples to the track from the moment the peer
// connection is connected until ctx ends or the source fails.
func (p *Publisher) pump(ctx context.Context, out *outTrack) {
	defer p.wg.Done()
	src, track, c := out.src, out.track, out.c
	if p.state.wait(ctx) != nil {
		return
	}
	for {
		s, err := src.NextSample(ctx)
		if err != nil {
			if ctx.Err() == nil {
				p.setErr(fmt.Errorf("onair: %s source: %w", c.kind, err))
			}
			return
		}
		if err := track.WriteSample(s); err != nil {
			if ctx.Err() != nil {
				return
			}
			p.setErr(fmt.Errorf("onair: write %s sample: %w", c.kind, err))
			continue
		}
		c.samples.Add(1)
	}
}

// readRTCP reads the RTCP that arrives for one sender, which also drives the
// interceptors, until the sender stops. PLI (RFC 4585 section 6.3.1) and FIR
// (RFC 5104 section 4.3.1) ask the source for a keyframe.
func (p *Publisher) readRTCP(sender *webrtc.RTPSender, src Source, c *senderCounters) {
	defer p.wg.Done()
	kf, _ := src.(KeyframeRequester)
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt := pkt.(type) {
			case *rtcp.PictureLossIndication:
				c.plis.Add(1)
				if kf != nil {
					kf.RequestKeyframe()
				}
			case *rtcp.FullIntraRequest:
				c.firs.Add(1)
				if kf != nil {
					kf.RequestKeyframe()
				}
			case *rtcp.TransportLayerNack:
				c.nacks.Add(1)
				for _, n := range pkt.Nacks {
					c.nackedPackets.Add(uint64(1 + bits.OnesCount16(uint16(n.LostPackets))))
				}
			}
		}
	}
}

func (p *Publisher) setErr(err error) {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	if p.err == nil {
		p.err = err
	}
}

// Err returns the first error a source or a track write hit, or nil.
func (p *Publisher) Err() error {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return p.err
}

// Location returns the absolute URL of the WHIP session.
func (p *Publisher) Location() string { return p.location }

// WaitConnected blocks until the peer connection is connected. It returns
// ErrClosed if the connection fails or is closed first, or ctx's error.
func (p *Publisher) WaitConnected(ctx context.Context) error { return p.state.wait(ctx) }

// Stats returns a snapshot of what has been sent and the feedback received.
func (p *Publisher) Stats() PublisherStats {
	return PublisherStats{Location: p.location, Video: p.video.snapshot(), Audio: p.audio.snapshot()}
}

// Close ends the session: it stops the sources, sends DELETE to the
// Location (at most 5 s), closes the peer connection and the sources, and
// waits for its goroutines. Later calls return the first call's result.
func (p *Publisher) Close() error {
	p.closeOnce.Do(func() {
		p.cancel()
		delErr := deleteSession(context.Background(), p.o, p.location)
		pcErr := p.pc.Close()
		p.wg.Wait()
		errs := []error{delErr, pcErr}
		for _, s := range p.sources {
			errs = append(errs, s.Close())
		}
		p.closeErr = errors.Join(errs...)
	})
	return p.closeErr
}

// randomID returns 16 random hex digits.
func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
