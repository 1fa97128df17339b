package e2e

import (
	"testing"
	"time"
)

// The viewer's `room` data channel (reliable, ordered) opens alongside the media.
func TestDataChannelOpens(t *testing.T) {
	n := startNode(t, nil)
	publishSynthetic(t, n, "dc", "k-dc-1234", 30, false)
	v := watch(t, n, "dc", "", 4)
	eventually(t, 10*time.Second, "the server to hold the channel", func() bool { return len(n.app.SFU().Rooms()) == 1 })
	eventually(t, 10*time.Second, "the data channel to open", func() bool { return v.Stats().DataChannelOpen })
	time.Sleep(2 * time.Second)
	if !v.Stats().DataChannelOpen {
		t.Fatal("the data channel closed again")
	}
}
