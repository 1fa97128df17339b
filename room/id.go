package room

import (
	"errors"
	"fmt"
)

// ID names a room; a streamer's room id is their handle.
type ID string

// ErrBadID is returned for a room name outside [a-z0-9_-]{1,64}.
var ErrBadID = errors.New("room: bad room name")

// ParseID validates a room name.
func ParseID(s string) (ID, error) {
	if len(s) == 0 || len(s) > 64 {
		return "", fmt.Errorf("%w: %d characters; use 1 to 64 of a-z, 0-9, _ and -", ErrBadID, len(s))
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return "", fmt.Errorf("%w: %q; use 1 to 64 of a-z, 0-9, _ and -", ErrBadID, s)
		}
	}
	return ID(s), nil
}
