package client

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// Source yields the encoded samples of one track in real time.
//
// NextSample is called from one goroutine at a time. It blocks until the
// next sample is due by the wall clock, then returns it; each sample's
// Duration is the time until the one after it, and its Data is owned by the
// caller. NextSample returns ctx.Err() when ctx ends first, and another error
// when the source cannot go on. File sources loop forever.
//
// Close releases what the source holds (an open file); NextSample must not be
// running or called afterwards.
type Source interface {
	Codec() webrtc.RTPCodecCapability
	NextSample(ctx context.Context) (media.Sample, error)
	Close() error
}

// KeyframeRequester is implemented by sources that can make the next sample
// a keyframe when a receiver asks for one (RTCP PLI or FIR, RFC 4585 and RFC
// 5104). RequestKeyframe may be called from any goroutine, concurrently with
// NextSample. File sources cannot, and keep going until their next keyframe.
type KeyframeRequester interface {
	RequestKeyframe()
}

// sourceKind tells whether a source is audio or video from its mime type.
func sourceKind(s Source) webrtc.RTPCodecType {
	if strings.HasPrefix(strings.ToLower(s.Codec().MimeType), "audio/") {
		return webrtc.RTPCodecTypeAudio
	}
	return webrtc.RTPCodecTypeVideo
}

// Codec capabilities the sources produce. Their RTCP feedback is what the
// publisher advertises in its offer.
var (
	videoFeedback = []webrtc.RTCPFeedback{
		{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"},
		{Type: "nack", Parameter: "pli"}, {Type: "transport-cc"},
	}
	audioFeedback = []webrtc.RTCPFeedback{{Type: "transport-cc"}}
)

func vp8Codec() webrtc.RTPCodecCapability {
	return webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback}
}

func opusCodec() webrtc.RTPCodecCapability {
	return webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
		SDPFmtpLine: "minptime=10;useinbandfec=1", RTCPFeedback: audioFeedback,
	}
}

// pacer releases samples at their wall-clock time: sample n is due at
// start + the sum of the durations before it, so sleeping late once does not
// delay every later sample (no drift). After a stall of more than maxLag
// (a suspended process, a slow disk) it restarts its clock rather than
// bursting to catch up.
type pacer struct {
	start time.Time
	due   time.Duration // offset of the next sample from start
}

const maxLag = time.Second

// wait blocks until the next sample is due, then schedules the one after it
// d later.
func (p *pacer) wait(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	if p.start.IsZero() {
		p.start = now
	}
	at := p.start.Add(p.due)
	if lag := now.Sub(at); lag > maxLag {
		p.start, p.due, at = now, 0, now
	}
	if wait := at.Sub(now); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	p.due += d
	return nil
}

// rewinder is a file source that can start over at the first frame.
type rewinder interface{ rewind() error }

// openLooping opens path for a source built by make and reads its first frame;
// on error the file is closed and the error names the file.
func openLooping[S rewinder](path string, make func(*os.File) S) (S, error) {
	var zero S
	f, err := os.Open(path)
	if err != nil {
		return zero, err
	}
	src := make(f)
	if err := src.rewind(); err != nil {
		f.Close()
		return zero, fmt.Errorf("onair: %s: %w", path, err)
	}
	return src, nil
}
