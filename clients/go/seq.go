package client

// seqWindow is how many sequence numbers below the highest one seqCounter
// remembers, to tell a late packet that fills a gap from a duplicate.
const seqWindow = 1024

// seqCounter accounts for RTP sequence numbers (RFC 3550 section 6.4.1 and
// appendix A.1): it extends the 16-bit numbers across wraparound and keeps
// how many are still missing, how many arrived late and how many twice. It
// does not allocate.
type seqCounter struct {
	started    bool
	base       int64 // extended sequence number of the first packet
	highest    int64 // highest extended sequence number seen
	missing    uint64
	outOfOrder uint64
	duplicates uint64
	seen       [seqWindow / 64]uint64 // bit (ext % seqWindow) set when received
}

func (s *seqCounter) mark(ext int64) {
	i := uint64(ext) % seqWindow
	s.seen[i/64] |= 1 << (i % 64)
}

func (s *seqCounter) clear(ext int64) {
	i := uint64(ext) % seqWindow
	s.seen[i/64] &^= 1 << (i % 64)
}

func (s *seqCounter) isSet(ext int64) bool {
	i := uint64(ext) % seqWindow
	return s.seen[i/64]&(1<<(i%64)) != 0
}

// add records one received sequence number.
func (s *seqCounter) add(seq uint16) {
	if !s.started {
		s.started = true
		s.base = int64(seq) + 1<<16 // keep extended numbers positive
		s.highest = s.base
		s.mark(s.highest)
		return
	}
	// The signed 16-bit difference is the forward distance modulo 2^16,
	// taken as negative when the number is more than half a cycle behind.
	d := int64(int16(seq - uint16(s.highest)))
	ext := s.highest + d
	switch {
	case d > 0:
		s.missing += uint64(d - 1)
		if d-1 >= seqWindow {
			s.seen = [seqWindow / 64]uint64{}
		} else {
			for e := s.highest + 1; e < ext; e++ {
				s.clear(e)
			}
		}
		s.highest = ext
		s.mark(ext)
	case d == 0:
		s.duplicates++
	case ext < s.base || -d >= seqWindow:
		// Sent before the first packet we saw, or too old to tell: out of
		// order, but it does not change what is missing.
		s.outOfOrder++
	case s.isSet(ext):
		s.duplicates++
	default:
		s.outOfOrder++
		s.mark(ext)
		if s.missing > 0 {
			s.missing--
		}
	}
}

// expected is the number of sequence numbers from the first to the highest.
func (s *seqCounter) expected() uint64 {
	if !s.started {
		return 0
	}
	return uint64(s.highest - s.base + 1)
}
