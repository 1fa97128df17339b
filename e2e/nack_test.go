package e2e

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"

	client "github.com/onair-live/onair/clients/go"
)

// lossyLink drops the first copy of every 20th incoming video packet, before the
// viewer's NACK generator sees it; a retransmission of that packet gets through.
type lossyLink struct {
	mu      sync.Mutex
	dropped map[uint16]bool
	count   atomic.Int64
}

func (l *lossyLink) NewInterceptor(string) (interceptor.Interceptor, error) { return l, nil }

func (l *lossyLink) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	if info.MimeType[:5] != "video" {
		return r
	}
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attr, err := r.Read(b, a)
			if err != nil || n < 4 {
				return n, attr, err
			}
			seq := uint16(b[2])<<8 | uint16(b[3])
			l.mu.Lock()
			drop := seq%20 == 0 && !l.dropped[seq]
			if drop {
				l.dropped[seq] = true
			}
			l.mu.Unlock()
			if !drop {
				return n, attr, err
			}
			l.count.Add(1)
		}
	})
}

func (l *lossyLink) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader { return r }
func (l *lossyLink) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter { return w }
func (l *lossyLink) BindLocalStream(_ *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	return w
}
func (l *lossyLink) UnbindLocalStream(*interceptor.StreamInfo)  {}
func (l *lossyLink) UnbindRemoteStream(*interceptor.StreamInfo) {}
func (l *lossyLink) Close() error                               { return nil }

// The SFU answers a viewer's NACKs from its packet cache: 5 % loss on the last
// hop leaves no hole in what the viewer ends up with.
func TestNACKRepairsLoss(t *testing.T) {
	n := startNode(t, nil)
	publishSynthetic(t, n, "lossy", "k-lossy-1", 30, false)
	link := &lossyLink{dropped: map[uint16]bool{}}
	o := n.opts("lossy", "")
	o.Interceptors = []interceptor.Factory{link}
	v, err := client.Watch(testContext(t, 20*time.Second), o, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	eventually(t, 15*time.Second, "losses to be repaired", func() bool {
		tr, ok := track(v, "lossy", "video", 0)
		return ok && link.count.Load() >= 20 && tr.Missing == 0
	})
	tr, _ := track(v, "lossy", "video", 0)
	if st := n.app.SFU().Stats(); st.NACKs == 0 {
		t.Fatalf("the server counted no NACKs though %d packets were dropped", link.count.Load())
	}
	t.Logf("dropped %d, received %d packets, missing %d", link.count.Load(), tr.Packets, tr.Missing)
}
