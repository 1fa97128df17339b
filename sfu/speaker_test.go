package sfu

import (
	"io"
	"log/slog"
	"sync"
	"testing"
)

type speakerLog struct {
	mu    sync.Mutex
	heard []string
}

func (s *speakerLog) RoomStarted(string)              {}
func (s *speakerLog) RoomEnded(string)                {}
func (s *speakerLog) PublisherJoined(string, string)  {}
func (s *speakerLog) PublisherLeft(string, string)    {}
func (s *speakerLog) SubscriberJoined(string, string) {}
func (s *speakerLog) SubscriberLeft(string, string)   {}
func (s *speakerLog) ActiveSpeaker(room, identity string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.heard = append(s.heard, room+":"+identity)
}

func (s *speakerLog) said() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.heard...)
}

// The loudest co-host becomes the speaker after two ticks, a single loud
// tick does not move it, and silence (or too few packets) names nobody new.
func TestActiveSpeaker(t *testing.T) {
	obs := &speakerLog{}
	s, err := New(Config{UDPPort: -1, LoopbackOnly: true}, slog.New(slog.NewTextHandler(io.Discard, nil)), obs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	st := &stage{sfu: s}
	st.publish(t)
	bob, _ := st.join(t, "bob", false)
	alice := st.slot
	speak := func(f *feed, level byte, packets int) {
		for range packets {
			f.level(level)
		}
	}
	tick := func(aliceLevel, bobLevel byte) {
		speak(alice.audio, aliceLevel, 20)
		speak(bob.slot.audio, bobLevel, 20)
		st.room.chooseSpeaker()
	}
	tick(30, 127) // alice speaks (-30 dBov), bob is silent
	if len(obs.said()) != 0 {
		t.Fatal("named a speaker after one tick")
	}
	tick(30, 127)
	if got := obs.said(); len(got) != 1 || got[0] != "tv:alice" {
		t.Fatalf("heard %v, want alice", got)
	}
	tick(60, 20) // bob louder for one tick only
	tick(30, 127)
	tick(30, 127)
	if got := obs.said(); len(got) != 1 {
		t.Fatalf("one loud tick moved the speaker: %v", got)
	}
	tick(127, 25)
	tick(127, 25)
	if got := obs.said(); len(got) != 2 || got[1] != "tv:bob" {
		t.Fatalf("heard %v, want bob next", got)
	}
	speak(alice.audio, 10, 2) // too few packets to count
	st.room.chooseSpeaker()
	st.room.chooseSpeaker()
	if got := obs.said(); len(got) != 2 {
		t.Fatalf("heard %v", got)
	}
}
