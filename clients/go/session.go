package client

import (
	"context"
	"sync"

	"github.com/pion/webrtc/v4"
)

// connState follows a peer connection's state for WaitConnected.
type connState struct {
	connected, done       chan struct{}
	connectOnce, doneOnce sync.Once
}

func newConnState() *connState {
	return &connState{connected: make(chan struct{}), done: make(chan struct{})}
}

// update is the peer connection's OnConnectionStateChange handler; it
// reports whether the state is the first "connected".
func (c *connState) update(s webrtc.PeerConnectionState) (first bool) {
	switch s {
	case webrtc.PeerConnectionStateConnected:
		c.connectOnce.Do(func() { first = true; close(c.connected) })
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		c.doneOnce.Do(func() { close(c.done) })
	}
	return first
}

// wait returns nil once connected, ErrClosed if the connection failed or
// closed first, or ctx's error.
func (c *connState) wait(ctx context.Context) error {
	select {
	case <-c.connected:
		return nil
	default:
	}
	select {
	case <-c.connected:
		return nil
	case <-c.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}
