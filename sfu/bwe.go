package sfu

import (
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/webrtc/v4"
)

// bweConfig sets up a viewer peer's bandwidth estimation: transport-wide
// sequence numbers on what it is sent (the header extension of
// draft-holmer-rmcat-transport-wide-cc-extensions), the viewer's feedback
// read by pion's send-side GCC (delay- and loss-based), with no pacer: the
// SFU forwards as packets arrive, and its allocator, not a pacer, keeps a
// viewer within the estimate by choosing layers.
type bweConfig struct {
	start, min, max int // bits/s
	// onEstimator receives the peer's estimator as the peer is made.
	onEstimator func(estimator)
}

func (b *bweConfig) register(m *webrtc.MediaEngine, reg *interceptor.Registry) error {
	f, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		return gcc.NewSendSideBWE(gcc.SendSideBWEInitialBitrate(b.start), gcc.SendSideBWEMinBitrate(b.min),
			gcc.SendSideBWEMaxBitrate(b.max), gcc.SendSideBWEPacer(gcc.NewNoOpPacer()))
	})
	if err != nil {
		return err
	}
	f.OnNewPeerConnection(func(_ string, e cc.BandwidthEstimator) { b.onEstimator(e) })
	// The estimator reads the sequence number the header interceptor writes:
	// on the way out it must come after it, so it is registered before.
	reg.Add(f)
	return webrtc.ConfigureTWCCHeaderExtensionSender(m, reg)
}
