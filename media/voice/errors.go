package voice

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Why an upload was refused; the edge maps each to a status. Each refusal
// wraps one of them with words a person can act on.
var (
	ErrNotAudio    = errors.New("not audio")             // not a voice clip at all
	ErrUnsupported = errors.New("unsupported audio")     // audio, but not a format taken here
	ErrDamaged     = errors.New("damaged audio")         // the right format, but unreadable
	ErrTooBig      = errors.New("too big")               // over Config.MaxBytes
	ErrTooLong     = errors.New("too long")              // over Config.MaxDuration
	ErrBusy        = errors.New("busy, try again")       // the transcode queue is full
	ErrBadScope    = errors.New("voice: bad scope")      // a programming error: no room or user
	ErrNotFound    = errors.New("no such voice message") // no clip with that id
)

// formats is how the refusals name what is taken.
const formats = "AMR-NB, AMR-WB, WebM/Opus or Ogg/Opus"

// TooBig is the refusal of an upload of size bytes (or more) over limit.
func TooBig(size, limit int64) error {
	got, max := mib(size), mib(limit)
	if got == max { // 1.02 MiB over a 1 MiB limit
		got = "more than " + max
	}
	return fmt.Errorf("%w: %s, the limit is %s", ErrTooBig, got, max)
}

// mib writes a size for a person: "1.3 MiB", "1 MiB", "800 KiB".
func mib(n int64) string {
	if n < 1<<20 {
		return strconv.FormatInt((n+512)>>10, 10) + " KiB"
	}
	return strconv.FormatFloat(float64(int64(float64(n)/(1<<20)*10+0.5))/10, 'f', -1, 64) + " MiB"
}

// secs writes a duration for a person: "75 s", "60.4 s".
func secs(d time.Duration) string {
	return strconv.FormatFloat(d.Round(100*time.Millisecond).Seconds(), 'f', -1, 64) + " s"
}
