package egress

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Target is a restream destination as the system of record keeps it.
type Target struct {
	ID        string
	Room      string
	Name      string
	URL       string // rtmp://host[:port]/app or rtmps://..., without the key
	Key       string
	Enabled   bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// pushURL is where ffmpeg pushes: the URL with the key as its last part.
func (t Target) pushURL() string { return strings.TrimRight(t.URL, "/") + "/" + t.Key }

// TargetPatch changes the fields it sets.
type TargetPatch struct {
	Name    *string
	URL     *string
	Key     *string
	Enabled *bool
}

// TargetStore keeps restream targets; the system of record (*store.DB, through
// the app) implements it. Every method is scoped to a room: a target of
// another room is not found.
type TargetStore interface {
	RestreamTargets(ctx context.Context, room string) ([]Target, error)
	// CreateRestreamTarget sets ID and the times; a room at max targets
	// already is refused (atomically).
	CreateRestreamTarget(ctx context.Context, t Target, max int) (Target, error)
	UpdateRestreamTarget(ctx context.Context, room, id string, p TargetPatch) (Target, error)
	DeleteRestreamTarget(ctx context.Context, room, id string) error
}

// State is where a restream target's push stands.
type State string

const (
	StateOffline    State = "offline"    // the room is not live here, or the target is off
	StateConnecting State = "connecting" // ffmpeg is starting or connecting
	StateLive       State = "live"       // media is flowing to the target
	StateError      State = "error"      // the last try failed; another follows (Reason says why)
)

// Status is a job's state, since when, and why it failed last.
type Status struct {
	State    State
	Reason   string // set with StateError (and kept while it reconnects)
	Since    time.Time
	Restarts int // ffmpeg starts after the first in this broadcast
}

// TargetView is a target as its streamer sees it: the key only by its end.
type TargetView struct {
	ID        string
	Name      string
	URL       string
	KeyHint   string // "…" and the key's last 4 characters (none for short keys)
	Enabled   bool
	Status    Status
	CreatedAt time.Time
}

// keyHint shows enough of a key to tell keys apart, never all of it.
func keyHint(k string) string {
	if utf8.RuneCountInString(k) < 12 {
		return "…"
	}
	r := []rune(k)
	return "…" + string(r[len(r)-4:])
}

func view(t Target, st Status) TargetView {
	return TargetView{ID: t.ID, Name: t.Name, URL: t.URL, KeyHint: keyHint(t.Key), Enabled: t.Enabled, Status: st, CreatedAt: t.CreatedAt}
}

// TargetInput is a new target as the streamer gives it.
type TargetInput struct {
	Name    string
	URL     string
	Key     string
	Enabled *bool // nil: on
}

// Limits of what a target may hold.
const (
	maxNameRunes = 64
	maxURLBytes  = 512
	maxKeyBytes  = 256
)

// parseTargetURL checks an rtmp:// or rtmps:// URL without the key: a host,
// an optional port and application path, no user, query or fragment. It
// returns the URL cleaned of a trailing slash, and its host.
func parseTargetURL(raw string) (clean, host string, err error) {
	raw = strings.TrimSpace(raw)
	u, perr := url.Parse(raw)
	switch {
	case len(raw) > maxURLBytes:
		return "", "", fmt.Errorf("%w: the URL has more than %d characters", ErrBadTarget, maxURLBytes)
	case perr != nil:
		return "", "", fmt.Errorf("%w: %q is not a URL", ErrBadTarget, raw)
	case u.Scheme != "rtmp" && u.Scheme != "rtmps":
		return "", "", fmt.Errorf("%w: the URL must start with rtmp:// or rtmps://", ErrBadTarget)
	case u.Hostname() == "":
		return "", "", fmt.Errorf("%w: the URL has no host", ErrBadTarget)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return "", "", fmt.Errorf("%w: the URL may hold a host, a port and a path only; give the stream key separately", ErrBadTarget)
	}
	if p := u.Port(); p != "" {
		var n int
		if _, err := fmt.Sscanf(p, "%d", &n); err != nil || n < 1 || n > 65535 {
			return "", "", fmt.Errorf("%w: port %q", ErrBadTarget, p)
		}
	}
	return strings.TrimRight(u.String(), "/"), u.Hostname(), nil
}

// checkKey refuses keys that could not be the last part of a URL as given.
func checkKey(k string) error {
	if k == "" || len(k) > maxKeyBytes {
		return fmt.Errorf("%w: the stream key must have 1 to %d characters", ErrBadTarget, maxKeyBytes)
	}
	for _, r := range k {
		if r <= ' ' || r > '~' || r == '/' || r == '\\' || r == '#' {
			return fmt.Errorf("%w: the stream key may hold printable ASCII characters except spaces, slashes and #", ErrBadTarget)
		}
	}
	return nil
}

func checkName(n string) error {
	if utf8.RuneCountInString(n) > maxNameRunes || strings.IndexFunc(n, unicode.IsControl) >= 0 {
		return fmt.Errorf("%w: a name has at most %d characters and no control characters", ErrBadTarget, maxNameRunes)
	}
	return nil
}
