package sfu

import "testing"

func TestMungerContinuousAcrossSwitch(t *testing.T) {
	var m munger
	m.clockRate = 90000
	a, b := &upstream{}, &upstream{}
	const ms = int64(1e6)

	m.switchTo(a, 65534, 1000, 1*ms)
	var got []uint16
	for i, seq := range []uint16{65534, 65535, 0, 1} {
		s, _, ok := m.rewrite(seq, 1000+uint32(i)*3000, int64(i+1)*33*ms)
		if !ok {
			t.Fatalf("packet %d dropped", seq)
		}
		got = append(got, s)
	}
	lastTs := m.lastTs
	// b starts far away in both spaces, 100 ms later.
	now := m.lastAt + 100*ms
	m.switchTo(b, 5000, 777777, now)
	s, ts, ok := m.rewrite(5000, 777777, now)
	if !ok {
		t.Fatal("first packet after switch dropped")
	}
	got = append(got, s)
	for i := 1; i < len(got); i++ {
		if got[i] != got[i-1]+1 {
			t.Fatalf("sequence not continuous: %v", got)
		}
	}
	if want := lastTs + 9000; ts != want {
		t.Fatalf("timestamp after 100 ms gap = %d, want %d", ts, want)
	}
	if _, _, ok := m.rewrite(4999, 777000, now); ok {
		t.Fatal("a packet from before the switch point was forwarded")
	}
	if s, _, ok := m.rewrite(5001, 780777, now+33*ms); !ok || s != got[len(got)-1]+1 {
		t.Fatalf("next packet = %d %v", s, ok)
	}
}

func TestMungerOutOfOrderKeepsHighest(t *testing.T) {
	var m munger
	m.clockRate = 48000
	m.switchTo(&upstream{}, 10, 0, 1)
	m.rewrite(10, 0, 1)
	m.rewrite(12, 1920, 2)
	if s, _, ok := m.rewrite(11, 960, 3); !ok || s != 11 {
		t.Fatalf("late packet 11 = %d %v", s, ok)
	}
	if m.lastSeq != 12 || m.lastTs != 1920 {
		t.Fatalf("highest = %d/%d, want 12/1920", m.lastSeq, m.lastTs)
	}
}

func TestSeqNewer(t *testing.T) {
	for _, c := range []struct {
		a, b uint16
		want bool
	}{{1, 0, true}, {0, 65535, true}, {65535, 0, false}, {5, 5, false}, {0x8000, 0, false}, {0x7fff, 0, true}} {
		if got := seqNewer(c.a, c.b); got != c.want {
			t.Errorf("seqNewer(%d,%d) = %v", c.a, c.b, got)
		}
	}
}

// A long stream from one upstream is never cut off as sequence numbers wrap.
func TestMungerLongStreamAcrossWraps(t *testing.T) {
	var m munger
	m.clockRate = 90000
	m.switchTo(&upstream{}, 100, 0, 1)
	prev := uint16(0)
	for i := range 200_000 {
		seq := uint16(100 + i)
		out, _, ok := m.rewrite(seq, uint32(i)*3000, int64(i+1))
		if !ok {
			t.Fatalf("packet %d (seq %d) dropped", i, seq)
		}
		if i > 0 && out != prev+1 {
			t.Fatalf("packet %d: out seq %d after %d", i, out, prev)
		}
		prev = out
		if i%1000 == 999 { // a straggler from long ago is still refused
			if _, _, ok := m.rewrite(seq-0x2000, 0, int64(i+1)); ok {
				t.Fatalf("straggler %d packets old forwarded at %d", 0x2000, i)
			}
		}
	}
}
