package hub

import "errors"

var (
	// ErrSlowConsumer is passed to onGone when a session dropped Config.MaxDropped
	// messages without catching up in between: it stayed behind and was disconnected.
	ErrSlowConsumer = errors.New("hub: session too slow: disconnected after dropping messages")

	// ErrClosed is passed to onGone when the Hub is closed, and to the onGone of a
	// Join that arrives after Close.
	ErrClosed = errors.New("hub: closed")

	// errLeft is the cancel cause of a session that left by Leave; onGone is not
	// called for it.
	errLeft = errors.New("hub: session left")
)
