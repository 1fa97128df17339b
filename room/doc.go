// Package room is onair's interaction plane: room identity and lifecycle events
// now; chat, presence and moderation as they arrive. It knows nothing of HTTP.
package room
