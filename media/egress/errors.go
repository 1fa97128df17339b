package egress

import "errors"

// Sentinel errors; the edge maps them to status codes.
var (
	// ErrBadTarget: a restream target the server cannot use as given (not an
	// rtmp:// or rtmps:// URL, a key with spaces, a name too long).
	ErrBadTarget = errors.New("egress: bad restream target")
	// ErrNotAllowed: the target's host is refused by the allow-list, or
	// resolves to a loopback, private or otherwise internal address.
	ErrNotAllowed = errors.New("egress: restream target not allowed")
	// ErrTooManyTargets: the room has as many restream targets as it may.
	ErrTooManyTargets = errors.New("egress: too many restream targets")
	// ErrJobLimit: the node runs as many media jobs as it may.
	ErrJobLimit = errors.New("egress: media job limit reached")
	// ErrCodec: the room's codec cannot be taken out through ffmpeg.
	ErrCodec = errors.New("egress: codec not supported")
)
