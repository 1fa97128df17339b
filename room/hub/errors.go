package hub

import "errors"

var (
	// ErrSlowConsumer is passed to onGone when a session dropped Config.MaxDropped
	// messages without catching up in between: it stayed behind and was disconnected.
	ErrSlowConsumer = errors.New("hub: session too slow: disconnected after dropping messages")

	// ErrWriteTimeout is passed to onGone when one WriteBatch ran longer than
	// Config.WriteTimeout and was cancelled. errors.Is(ErrWriteTimeout,
	// ErrSlowConsumer) holds: the session stayed behind too.
	ErrWriteTimeout error = slowError("hub: session too slow: a write took longer than the write timeout")

	// ErrClosed is passed to onGone when the Hub is closed, and to the onGone of a
	// Join that arrives after Close.
	ErrClosed = errors.New("hub: closed")

	// errLeft ends a session that left by Leave; onGone is not called for it.
	errLeft = errors.New("hub: session left")
)

// slowError is a reason for disconnecting a session that is also ErrSlowConsumer.
type slowError string

func (e slowError) Error() string        { return string(e) }
func (e slowError) Is(target error) bool { return target == ErrSlowConsumer }
