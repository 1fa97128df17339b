package sfu

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Sending a frame to its viewers from the goroutine that has it.
//
// Each viewer's track has a writer goroutine, and a frame used to be handed
// to each of them: a channel send, a wake-up and a sendmsg per viewer and
// frame. Most of the time a viewer's track is steady (on the frame's layer,
// started, nothing waiting for its writer), and then the goroutine that
// gathered the frame seals the viewer's packets into its wire itself and
// queues them as one message; a chunk of viewers' messages goes out in one
// sendmmsg (mmsg_linux.go). A track that is switching layers, starting, or
// has frames waiting for its writer is handed the frame as before, so its
// writer keeps its packets in order and may wait (a replay is paced).
//
// A large room's frame is sent by several goroutines at once, one per
// core, so its viewers are not all served by one core.

// fanChunk is how many viewers' messages a fan-out sends together: their
// tracks stay locked until then. A packet's transport-wide send time is
// taken as it is sealed, up to a chunk's sealing (a few hundred µs) before
// it leaves; the same for every frame of a viewer, it does not bend the
// delay trend its path estimate follows.
const fanChunk = 32

// minPart is how many viewers each goroutine sending a frame needs for the
// frame to be spread over more than one (fanParts): below it, waking a
// worker costs more than it saves.
const minPart = 32

// fanout is one fan-out's chunk: the tracks sealed into, locked until their
// messages are sent, and the messages by socket.
type fanout struct {
	held  []*downTrack
	socks []batchSender
	outs  []*messages
}

var fanouts = sync.Pool{New: func() any { return &fanout{held: make([]*downTrack, 0, fanChunk)} }}

// fanOut sends fr to subs: inline to steady tracks, through their writers
// to the others. It returns when the inline messages are sent.
func fanOut(fr *frame, subs []*downTrack) {
	layer := int32(fr.pkts[0].layer)
	var fo *fanout
	for _, d := range subs {
		if d.takeInline(layer) {
			if fo == nil {
				fo = fanouts.Get().(*fanout)
			}
			d.sendPackets(fr)
			fo.hold(d)
			continue
		}
		fr.refs.Add(1)
		if !d.enqueue(fr) {
			fr.release()
		}
	}
	if fo != nil {
		fo.send()
		fanouts.Put(fo)
	}
}

// hold queues what d's wire sealed, to go with the chunk's other messages.
func (fo *fanout) hold(d *downTrack) {
	fo.held = append(fo.held, d)
	w := d.wire
	if k := w.to.Load(); k != nil && len(w.sizes) > 0 {
		if c := k.sender(); c != nil {
			m := fo.messagesOf(c)
			buf := w.ring[w.start:w.head]
			if m == nil {
				c.sendBatch(&w.seg, k.dst, buf, w.sizes)
			} else if !m.addBatch(k.dst, buf, w.sizes) {
				m.send()
				m.addBatch(k.dst, buf, w.sizes) // fits once they are sent: maxBatch ≤ maxMessages
			}
		}
	}
	if len(fo.held) == fanChunk {
		fo.send()
	}
}

// messagesOf are the chunk's messages through socket c; nil where sockets
// send no batches of messages.
func (fo *fanout) messagesOf(c batchSender) *messages {
	for i, s := range fo.socks {
		if s == c {
			return fo.outs[i]
		}
	}
	m := newMessages(c)
	if m == nil {
		return nil
	}
	fo.socks = append(fo.socks, c)
	fo.outs = append(fo.outs, m)
	return m
}

// send sends the chunk's messages and lets its tracks go.
func (fo *fanout) send() {
	for _, m := range fo.outs {
		m.send()
	}
	for i, d := range fo.held {
		d.wire.sent()
		d.releaseInline()
		fo.held[i] = nil
	}
	fo.held = fo.held[:0]
	// The sockets' messages are kept for the next chunk: a fan-out's
	// sockets are the same few.
}

// spread is a large room's frame being sent by several goroutines at once:
// the frame's own and up to a worker per other core each take the next
// fanChunk viewers until none are left, so one that starts late (a worker
// being woken) leaves the rest to the others instead of being waited for.
type spread struct {
	fr   *frame
	subs []*downTrack
	next atomic.Int32 // the next chunk to take
	wg   sync.WaitGroup
}

var spreads = sync.Pool{New: func() any { return new(spread) }}

// run sends chunks of the frame until none are left.
func (s *spread) run() {
	for {
		lo := int(s.next.Add(1)-1) * fanChunk
		if lo >= len(s.subs) {
			return
		}
		fanOut(s.fr, s.subs[lo:min(lo+fanChunk, len(s.subs))])
	}
}

// fanWorkers help send large rooms' frames, one per core but the one the
// frame's own goroutine runs on (as many as the machine has: the helpers
// asked for follow GOMAXPROCS, which may change); started with the first
// large room.
var fanWorkers struct {
	once sync.Once
	work chan *spread
}

func startFanWorkers() {
	fanWorkers.work = make(chan *spread, 64)
	for range max(runtime.NumCPU()-1, 1) {
		go func() {
			for s := range fanWorkers.work {
				s.run()
				s.wg.Done()
			}
		}()
	}
}

// fanParts is how many goroutines send a frame to n viewers at once.
func fanParts(n int) int {
	if n < 2*minPart {
		return 1 // without asking the scheduler (GOMAXPROCS takes its lock)
	}
	return max(1, min(runtime.GOMAXPROCS(0), n/minPart))
}

// fanOutParts sends fr to subs with the help of parts-1 workers (fewer when
// they are busy with other rooms). It returns when all are sent, so a
// viewer's next frame cannot overtake this one.
func fanOutParts(fr *frame, subs []*downTrack, parts int) {
	fanWorkers.once.Do(startFanWorkers)
	s := spreads.Get().(*spread)
	s.fr, s.subs = fr, subs
	s.next.Store(0)
	for range parts - 1 {
		s.wg.Add(1)
		select {
		case fanWorkers.work <- s:
		default:
			s.wg.Done()
		}
	}
	s.run()
	s.wg.Wait()
	s.fr, s.subs = nil, nil
	spreads.Put(s)
}
