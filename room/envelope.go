package room

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"sync"
	"time"
)

// Envelope is the one message shape on the data channel, the WebSocket and NATS
// (DESIGN.md). The server assigns ID and TS; clients send only Type and Body.
type Envelope struct {
	V    int             `json:"v"`
	Type string          `json:"type"`
	ID   string          `json:"id"`
	Room ID              `json:"room"`
	From *Sender         `json:"from,omitempty"`
	TS   int64           `json:"ts"` // Unix milliseconds
	Body json.RawMessage `json:"body"`
}

// Sender is who a message is from; nil for the system.
type Sender struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Subject is the NATS subject that carries a room's messages.
func Subject(id ID) string { return "onair.room." + string(id) }

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// idState makes one process's message ids strictly increasing: within a
// millisecond (or when the clock steps back by less than a second) the random
// part counts up, as ULID's monotonic mode does, so a node's ids sort in the
// order it made them.
var idState struct {
	sync.Mutex
	ms     uint64
	hi, lo uint64 // the 80 random bits: 16 in hi, 64 in lo
}

// NewMessageID returns a ULID: 48 bits of milliseconds then 80 random bits, so ids
// sort by time; ids made by one process are strictly increasing.
func NewMessageID(now time.Time) string {
	ms := uint64(now.UnixMilli())
	idState.Lock()
	// A small step back is the clock being adjusted: keep counting up. A
	// large one is a caller's own clock (tests, replays): start afresh there.
	if ms <= idState.ms && idState.ms-ms < 1000 {
		ms = idState.ms
		idState.lo++
		if idState.lo == 0 {
			idState.hi = (idState.hi + 1) & 0xffff
			if idState.hi == 0 { // 2^80 ids in one millisecond: take the next one
				ms++
			}
		}
	} else {
		var r [10]byte
		_, _ = rand.Read(r[:])
		idState.hi = uint64(r[0])<<8 | uint64(r[1])
		idState.lo = binary.BigEndian.Uint64(r[2:])
		// Leave room to count up within the millisecond.
		idState.hi &= 0x7fff
	}
	idState.ms = ms
	rhi, rlo := idState.hi, idState.lo
	idState.Unlock()

	hi := ms<<16 | rhi // 48 bits of time, 16 random
	lo := rlo
	// 128 bits as 26 base32 digits, most significant first.
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
