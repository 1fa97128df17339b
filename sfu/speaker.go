package sfu

import "time"

// Who is speaking.
//
// Publishers' audio carries its level (RFC 6464: 0 is the loudest, 127
// silence, in -dBov). Every speakerTick the SFU averages each co-host's
// loudness over the packets of the tick, and in a room of several co-hosts
// names the loudest one the active speaker once it has been loudest for two
// ticks in a row (a cough does not move the highlight) and loud enough to
// be speech. The Observer hears it when it implements SpeakerObserver.

// SpeakerObserver is told when a room's active speaker changes. A pause
// keeps the speaker: only another co-host's voice moves it.
type SpeakerObserver interface {
	ActiveSpeaker(room, identity string)
}

const (
	speakerTick = 500 * time.Millisecond
	// speakerMin is the average loudness (127 − level) a co-host must reach:
	// -57 dBov, well under speech.
	speakerMin = 70
	// speakerPackets is how many packets with a level a tick needs (a
	// silent Opus sender sends few: DTX).
	speakerPackets = 5
)

// level adds one packet's RFC 6464 level byte to the feed's tick.
func (f *feed) level(b byte) {
	f.loudSum.Add(uint64(127 - b&0x7f))
	f.loudN.Add(1)
}

// loudness is the feed's average loudness since the last call, and resets it.
func (f *feed) loudness() (avg uint64, ok bool) {
	sum, n := f.loudSum.Swap(0), f.loudN.Swap(0)
	if n < speakerPackets {
		return 0, false
	}
	return sum / n, true
}

// watchSpeakers runs until the SFU closes, choosing each room's speaker.
func (s *SFU) watchSpeakers() {
	t := time.NewTicker(speakerTick)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		s.mu.Lock()
		rooms := make([]*Router, 0, len(s.rooms))
		for _, r := range s.rooms {
			rooms = append(rooms, r)
		}
		s.mu.Unlock()
		for _, r := range rooms {
			r.chooseSpeaker()
		}
	}
}

// chooseSpeaker names the room's loudest co-host the speaker once it has
// been loudest for two ticks.
func (r *Router) chooseSpeaker() {
	r.mu.Lock()
	loudest, top := "", uint64(0)
	for _, sl := range r.slots {
		if avg, ok := sl.audio.loudness(); ok && avg >= speakerMin && avg > top {
			loudest, top = sl.identity, avg
		}
	}
	if len(r.slots) < 2 || loudest == "" || loudest == r.speaker || loudest != r.nextSpeaker {
		r.nextSpeaker = loudest
		r.mu.Unlock()
		return
	}
	r.speaker = loudest
	id := r.id
	r.sfu.emitUnlocking(&r.mu, []func(Observer){func(o Observer) {
		if so, ok := o.(SpeakerObserver); ok {
			so.ActiveSpeaker(id, loudest)
		}
	}})
}
