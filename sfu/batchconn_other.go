//go:build !linux

package sfu

import (
	"net/netip"

	"github.com/pion/ice/v4"
)

// newUDPMux opens the shared ICE port with plain sockets: segmented sends
// are Linux's (batchconn_linux.go), so nothing is ever held here.
func newUDPMux(port int, loopbackOnly bool, _ *corks, _ *counters) (*ice.MultiUDPMuxDefault, error) {
	opts := []ice.UDPMuxFromPortOption{ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4)}
	if loopbackOnly {
		opts = append(opts, ice.UDPMuxFromPortWithLoopback(), ice.UDPMuxFromPortWithInterfaceFilter(isLoopback))
	}
	return ice.NewMultiUDPMuxFromPort(port, opts...)
}

// segmenter is Linux's segmented send (batchconn_linux.go); nothing is
// ever sent in segments here.
type segmenter struct{}

// wireSupported: viewers go on the SFU's own write path (wire.go) only
// where its sockets send in segments and know which reaches a viewer.
const wireSupported = false

// messages are Linux's batches of messages (mmsg_linux.go); a fan-out here
// sends each viewer's batch on its own.
type messages struct{}

func newMessages(batchSender) *messages { return nil }

func (*messages) addBatch(netip.AddrPort, []byte, []int) bool { return false }

func (*messages) send() {}
