package client

import "testing"

func TestSeqCounter(t *testing.T) {
	tests := []struct {
		name                               string
		seqs                               []uint16
		expected, missing, late, duplicate uint64
	}{
		{"in order", []uint16{10, 11, 12, 13}, 4, 0, 0, 0},
		{"gap", []uint16{10, 11, 14, 15}, 6, 2, 0, 0},
		{"wraparound in order", []uint16{65534, 65535, 0, 1}, 4, 0, 0, 0},
		{"gap across wraparound", []uint16{65533, 65534, 1, 2}, 6, 2, 0, 0},
		{"late packet fills its gap", []uint16{10, 12, 11, 13}, 4, 0, 1, 0},
		{"late across wraparound", []uint16{65535, 1, 0, 2}, 4, 0, 1, 0},
		{"duplicate of the highest", []uint16{10, 11, 11, 12}, 3, 0, 0, 1},
		{"duplicate of an older one", []uint16{10, 11, 12, 10}, 3, 0, 0, 1},
		{"older than the first", []uint16{10, 11, 9, 12}, 3, 0, 1, 0},
		{"big forward jump", []uint16{100, 2100}, 2001, 1999, 0, 0},
		{"late beyond the window", []uint16{0, 2000, 1}, 2001, 1999, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s seqCounter
			for _, q := range tt.seqs {
				s.add(q)
			}
			if got := s.expected(); got != tt.expected {
				t.Errorf("expected = %d, want %d", got, tt.expected)
			}
			if s.missing != tt.missing || s.outOfOrder != tt.late || s.duplicates != tt.duplicate {
				t.Errorf("missing, out of order, duplicates = %d, %d, %d; want %d, %d, %d",
					s.missing, s.outOfOrder, s.duplicates, tt.missing, tt.late, tt.duplicate)
			}
		})
	}
}

// Many cycles with a regular loss pattern: the extended numbers keep
// counting across every wraparound.
func TestSeqCounterManyCycles(t *testing.T) {
	var s seqCounter
	seq := uint16(65000)
	var sent, dropped uint64
	for i := range 5 * 65536 {
		sent++
		if i%100 == 50 {
			dropped++
		} else {
			s.add(seq)
		}
		seq++
	}
	if s.expected() != sent {
		t.Errorf("expected = %d, want %d", s.expected(), sent)
	}
	if s.missing != dropped || s.outOfOrder != 0 || s.duplicates != 0 {
		t.Errorf("missing %d (want %d), out of order %d, duplicates %d", s.missing, dropped, s.outOfOrder, s.duplicates)
	}
}
