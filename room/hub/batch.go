package hub

// Batch is a run of a room's messages, in publish order, with its frame: the
// JSON array [m1,m2,...] that is one WebSocket or data-channel message
// (DESIGN.md). The Hub seals one Batch per BatchWindow (or MaxBatch messages)
// per room and hands that same Batch, frame encoded once, to every session of
// the room. A Batch is immutable and shared: neither its messages nor its frame
// may be modified; both may be kept.
type Batch struct{ p *sealed }

// sealed is what a Batch points to; the Hub queues *sealed (one word).
type sealed struct {
	msgs  [][]byte
	frame []byte
	seq   uint64 // the batch's number in its room; 0 for NewBatch
}

// NewBatch encodes msgs (encoded envelopes) into a Batch: for transports that
// send something of their own (history, a refusal) or must filter a batch. It
// keeps msgs and its elements, which must not be modified afterwards.
func NewBatch(msgs ...[]byte) Batch {
	return Batch{newSealed(msgs, 0)}
}

func newSealed(msgs [][]byte, seq uint64) *sealed {
	n := 2 + max(len(msgs)-1, 0) // brackets and commas
	for _, m := range msgs {
		n += len(m)
	}
	f := make([]byte, 0, n)
	f = append(f, '[')
	for i, m := range msgs {
		if i > 0 {
			f = append(f, ',')
		}
		f = append(f, m...)
	}
	return &sealed{msgs: msgs, frame: append(f, ']'), seq: seq}
}

// Msgs returns the encoded envelopes, oldest first.
func (b Batch) Msgs() [][]byte {
	if b.p == nil {
		return nil
	}
	return b.p.msgs
}

// Frame returns the JSON array of the messages, ready to send as one frame.
func (b Batch) Frame() []byte {
	if b.p == nil {
		return []byte("[]")
	}
	return b.p.frame
}

// Len returns how many messages the batch holds.
func (b Batch) Len() int { return len(b.Msgs()) }
