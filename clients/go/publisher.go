package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
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
	video    *senderCounters // all of the video, every simulcast layer included
	audio    *senderCounters
	layers   []*senderCounters // simulcast layers, in the order of the offer
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
	p, err := publish(ctx, o, video, nil, audio)
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

// outTrack is one track, or one simulcast layer of the video track, that a
// publisher sends.
type outTrack struct {
	src   Source
	kind  webrtc.RTPCodecType
	rid   string // the simulcast layer's RID; "" for a track of one encoding
	c     *senderCounters
	track *webrtc.TrackLocalStaticSample
}

// publish sends video as one encoding, or layers as the simulcast encodings
// of the video track, and audio; any of them may be missing.
func publish(ctx context.Context, o Options, video Source, layers []Layer, audio Source) (*Publisher, error) {
	if video == nil && len(layers) == 0 && audio == nil {
		return nil, ErrNoSource
	}
	endpoint, err := o.endpoint("whip")
	if err != nil {
		return nil, err
	}
	p := &Publisher{o: o, state: newConnState()}
	if len(layers) > 0 {
		video = layers[0].Source
	}

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
		if s.kind == webrtc.RTPCodecTypeAudio {
			p.audio = out.c
			outs = append(outs, out)
			p.sources = append(p.sources, s.src)
			continue
		}
		p.video = out.c
		if len(layers) == 0 {
			outs = append(outs, out)
			p.sources = append(p.sources, s.src)
			continue
		}
		for _, l := range layers {
			c := &senderCounters{kind: out.c.kind, codec: out.c.codec, rid: l.RID, parent: p.video}
			p.layers = append(p.layers, c)
			outs = append(outs, &outTrack{src: l.Source, kind: s.kind, rid: l.RID, c: c})
			p.sources = append(p.sources, l.Source)
		}
	}
	layerSet := &layerSSRCs{}
	counting := &countingFactory{video: p.video, audio: p.audio, layers: layerSet}
	sdes := &sdesFactory{layers: layerSet}
	if len(layers) > 0 {
		if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
			return nil, fmt.Errorf("onair: simulcast header extensions: %w", err)
		}
	}
	api, err := o.newAPI(m, nil, counting, sdes)
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
	var simulcast *webrtc.RTPTransceiver // the video transceiver, once its first layer is added
	for _, out := range outs {
		var opts []func(*webrtc.TrackLocalStaticRTP)
		if out.rid != "" {
			opts = append(opts, webrtc.WithRTPStreamID(out.rid))
		}
		if out.track, err = webrtc.NewTrackLocalStaticSample(out.src.Codec(), out.kind.String(), streamID, opts...); err != nil {
			return fail(fmt.Errorf("onair: new %s track: %w", out.kind, err))
		}
		var sender *webrtc.RTPSender
		if out.rid != "" && simulcast != nil {
			sender = simulcast.Sender()
			if err := sender.AddEncoding(out.track); err != nil {
				return fail(fmt.Errorf("onair: add simulcast layer %q: %w", out.rid, err))
			}
		} else {
			tr, err := pc.AddTransceiverFromTrack(out.track,
				webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
			if err != nil {
				return fail(fmt.Errorf("onair: add %s transceiver: %w", out.kind, err))
			}
			if out.rid != "" {
				simulcast = tr
			}
			sender = tr.Sender()
		}
		if out.rid != "" {
			// Each encoding has its own SSRC from the start (announced in a=ssrc
			// lines besides the RIDs); count and stamp its packets by it.
			for _, e := range sender.GetParameters().Encodings {
				if e.RID == out.rid {
					out.c.ssrc.Store(uint32(e.SSRC))
					p.video.ssrc.CompareAndSwap(0, uint32(e.SSRC))
					layerSet.add(uint32(e.SSRC), layerSSRC{tr: simulcast, rid: out.rid, c: out.c})
				}
			}
		}
		p.wg.Add(1)
		go p.readRTCP(sender, out)
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
				p.setErr(fmt.Errorf("onair: %s source: %w", c.name(), err))
			}
			return
		}
		if err := track.WriteSample(s); err != nil {
			if ctx.Err() != nil {
				return
			}
			p.setErr(fmt.Errorf("onair: write %s sample: %w", c.name(), err))
			continue
		}
		for c := c; c != nil; c = c.parent {
			c.samples.Add(1)
		}
	}
}

// readRTCP reads the RTCP that arrives for one sender, or for one simulcast
// layer of it, which also drives the interceptors, until the sender stops.
// PLI (RFC 4585 section 6.3.1) and FIR (RFC 5104 section 4.3.1) ask the
// source for a keyframe.
func (p *Publisher) readRTCP(sender *webrtc.RTPSender, out *outTrack) {
	defer p.wg.Done()
	kf, _ := out.src.(KeyframeRequester)
	for {
		var pkts []rtcp.Packet
		var err error
		if out.rid != "" {
			pkts, _, err = sender.ReadSimulcastRTCP(out.rid)
		} else {
			pkts, _, err = sender.ReadRTCP()
		}
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			for c := out.c; c != nil; c = c.parent {
				c.countRTCP(pkt)
			}
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if kf != nil {
					kf.RequestKeyframe()
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
	st := PublisherStats{Location: p.location, Video: p.video.snapshot(), Audio: p.audio.snapshot()}
	for _, c := range p.layers {
		st.Layers = append(st.Layers, c.snapshot())
	}
	return st
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
