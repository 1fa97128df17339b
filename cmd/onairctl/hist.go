package main

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// latencyHist counts durations in log-linear buckets of microseconds: exact
// below 128 µs, then 64 buckets per power of two (within 1.6 %), up to about
// 2^40 µs (12 days). Record is safe from many goroutines and allocates nothing;
// spreading writers over shards (one histogram each) keeps them off each
// other's cache lines.
type latencyHist struct {
	counts [histBuckets]atomic.Uint64
	max    atomic.Int64 // µs
}

const (
	histSubBits  = 7 // 2^histSubBits exact buckets, then 2^(histSubBits-1) per octave
	histMaxShift = 34
	histBuckets  = 1<<histSubBits + histMaxShift<<(histSubBits-1)
)

// histIndex returns the bucket of v µs.
func histIndex(v uint64) int {
	if v < 1<<histSubBits {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits
	if shift > histMaxShift {
		return histBuckets - 1
	}
	return 1<<histSubBits + (shift-1)<<(histSubBits-1) + int(v>>shift) - 1<<(histSubBits-1)
}

// histUpper returns the largest value in bucket i.
func histUpper(i int) uint64 {
	if i < 1<<histSubBits {
		return uint64(i)
	}
	j := i - 1<<histSubBits
	shift := j>>(histSubBits-1) + 1
	sub := uint64(j&(1<<(histSubBits-1)-1)) + 1<<(histSubBits-1)
	return (sub+1)<<shift - 1
}

// Record counts one duration; negative ones (clock steps) count as 0.
func (h *latencyHist) Record(d time.Duration) {
	us := max(d.Microseconds(), 0)
	h.counts[histIndex(uint64(us))].Add(1)
	for {
		m := h.max.Load()
		if us <= m || h.max.CompareAndSwap(m, us) {
			return
		}
	}
}

// histSummary merges shards and answers percentiles.
type histSummary struct {
	counts [histBuckets]uint64
	total  uint64
	max    int64
}

func mergeHists(hs []*latencyHist) *histSummary {
	s := &histSummary{}
	for _, h := range hs {
		for i := range h.counts {
			n := h.counts[i].Load()
			s.counts[i] += n
			s.total += n
		}
		s.max = max(s.max, h.max.Load())
	}
	return s
}

// Percentile returns the p-th percentile (0 < p <= 100) by the nearest-rank
// method, as the upper end of its bucket (never above the largest value
// recorded); 0 when nothing was recorded.
func (s *histSummary) Percentile(p float64) time.Duration {
	if s.total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(p / 100 * float64(s.total)))
	rank = min(max(rank, 1), s.total)
	var seen uint64
	for i, n := range s.counts {
		if seen += n; seen >= rank {
			return time.Duration(min(int64(histUpper(i)), s.max)) * time.Microsecond
		}
	}
	return time.Duration(s.max) * time.Microsecond
}

// Max returns the largest duration recorded.
func (s *histSummary) Max() time.Duration { return time.Duration(s.max) * time.Microsecond }

// stats returns the percentiles a report shows.
func (s *histSummary) stats() msStats {
	return msStats{P50: ms(s.Percentile(50)), P95: ms(s.Percentile(95)), P99: ms(s.Percentile(99)), Max: ms(s.Max())}
}

// latencyShard is one shard of a chat run's delivery latencies: in all, and
// split at the server's stamp (send → stamp, stamp → receipt).
type latencyShard struct {
	total, toServer, fanOut latencyHist
}

// record counts one delivery: sent and now in Unix ns, stamp in Unix ms (0
// when the envelope had none: only the total counts).
func (l *latencyShard) record(sent, stamp, now int64) {
	l.total.Record(time.Duration(now - sent))
	if stamp > 0 {
		l.toServer.Record(time.Duration(stamp*1e6 - sent))
		l.fanOut.Record(time.Duration(now - stamp*1e6))
	}
}
