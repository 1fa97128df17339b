package sfu

import (
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/webrtc/v4"
)

// Each packet passes every interceptor of its peer, once per viewer on the
// way out, so a peer has only those its side of the stage needs, not
// pion's defaults (which add a statistics recorder nobody here reads, and
// the receiving half of NACK, reports and TWCC to peers that only send).

// registerPublisherInterceptors: a publisher's peer receives. It asks for
// lost packets (NACK, RFC 4585), reports reception (RFC 3550 receiver
// reports), reads the simulcast MID/RID header extensions, answers with
// transport-wide congestion control feedback so the publisher's own
// estimator works, and takes the audio level.
func registerPublisherInterceptors(m *webrtc.MediaEngine, reg *interceptor.Registry) error {
	gen, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return err
	}
	reg.Add(gen)
	rr, err := report.NewReceiverInterceptor()
	if err != nil {
		return err
	}
	reg.Add(rr)
	registerNACKFeedback(m)
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		return err
	}
	if err := webrtc.ConfigureTWCCSender(m, reg); err != nil {
		return err
	}
	return registerPublisherExtensions(m)
}

// registerViewerInterceptors: a viewer's peer sends. It answers NACKs from
// what it sent and sends sender reports (the viewer lines audio and video
// up with them); the SFU numbers packets for transport-wide feedback
// itself and estimates the path from it (pathest.go); playout-delay.
func registerViewerInterceptors(m *webrtc.MediaEngine, reg *interceptor.Registry, bwe *bweConfig) error {
	resp, err := nack.NewResponderInterceptor()
	if err != nil {
		return err
	}
	reg.Add(resp)
	sr, err := report.NewSenderInterceptor()
	if err != nil {
		return err
	}
	reg.Add(sr)
	registerNACKFeedback(m)
	if err := bwe.register(m); err != nil {
		return err
	}
	return registerViewerExtensions(m)
}

// registerNACKFeedback offers NACK and PLI on video (RFC 4585).
func registerNACKFeedback(m *webrtc.MediaEngine) {
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
}
