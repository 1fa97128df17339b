package room

import (
	"crypto/rand"
	"encoding/json"
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

// NewMessageID returns a ULID: 48 bits of milliseconds then 80 random bits, so ids
// sort by time.
func NewMessageID(now time.Time) string {
	var b [16]byte
	ms := uint64(now.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:])
	// 128 bits as 26 base32 digits, most significant first.
	var out [26]byte
	hi := uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 | uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
	lo := uint64(b[8])<<56 | uint64(b[9])<<48 | uint64(b[10])<<40 | uint64(b[11])<<32 | uint64(b[12])<<24 | uint64(b[13])<<16 | uint64(b[14])<<8 | uint64(b[15])
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
