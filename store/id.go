package store

import (
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"
)

// newID returns a ULID with t's millisecond. Within one millisecond the
// entropy is monotonic (ulid.DefaultEntropy is safe for concurrent use), so IDs
// made by one process sort in the order they were made.
func newID(t time.Time) (string, error) {
	id, err := ulid.New(ulid.Timestamp(t), ulid.DefaultEntropy())
	if err != nil {
		return "", fmt.Errorf("new id: %w", err)
	}
	return id.String(), nil
}

// idTime is the time a ULID was made at (millisecond precision, UTC).
func idTime(id string) time.Time {
	u, err := ulid.ParseStrict(id)
	if err != nil {
		return time.Time{}
	}
	return ulid.Time(u.Time()).UTC()
}
