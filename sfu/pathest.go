package sfu

import (
	"math"
	"sync"
	"time"
)

// A viewer's path estimate, without per-packet allocation.
//
// Every packet sent to a viewer carries a transport-wide sequence number
// (the header extension of draft-holmer-rmcat-transport-wide-cc-extensions),
// and its send time and size go into a ring indexed by that number. The
// viewer's feedback (RTCP transport-cc) says which arrived and when. From
// it, as send-side GCC does (draft-ietf-rmcat-gcc-02):
//   - loss: the share of packets reported lost, smoothed;
//   - delay: packets sent within 5 ms form a group; the change of one-way
//     delay between groups, accumulated and smoothed, is fitted with a line
//     over the last groups; a slope above an adaptive threshold means the
//     path's queue grows (overuse), below its negative, that it drains;
//   - rate: on overuse the estimate becomes 0.85 of the rate the viewer
//     acknowledged; otherwise it grows 8 % a second, up to 1.5 times the
//     acknowledged rate (the allocator's probes prove more); loss over 10 %
//     in a 300 ms interval takes half the loss off it.
// pion's GCC does the same with a map and a list entry per packet; this one
// keeps a fixed ring.

const (
	sentRing      = 4096 // packets remembered (≈ 15 s at 2 Mbit/s)
	groupSpan     = 5 * time.Millisecond
	trendWindow   = 20
	trendGain     = 4.0
	thresholdInit = 12.5 // ms
	kUp, kDown    = 0.0087, 0.039
	ackWindow     = 250 * time.Millisecond
	lossInterval  = 300 * time.Millisecond
)

type sentPacket struct {
	at   int64 // unix ns; 0: unused
	size int32
	seq  uint16
}

// pathEstimator estimates one viewer's path. Writers call sent; the RTCP
// reader calls feedback; the allocator reads GetTargetBitrate and GetStats.
type pathEstimator struct {
	mu   sync.Mutex
	next uint16
	ring [sentRing]sentPacket

	minRate, maxRate float64
	rate             float64 // bits/s
	lastUpdate       time.Time

	loss float64 // smoothed share lost
	// lost and counted since the last loss-based decision (at most every
	// lossInterval, so a burst of reports does not compound a decrease)
	lostN, countN int
	lossAt        time.Time

	// delay trend
	groupSend, groupArr int64 // the open group's first send and last arrival (ns)
	prevSend, prevArr   int64 // the previous group's
	haveGroup, havePrev bool
	accDelay, smoothed  float64 // ms
	points              [trendWindow][2]float64
	npoints, seen       int
	threshold           float64
	lastThresh          int64
	usage               string

	// acknowledged rate
	ackBytes  int64
	ackFrom   int64
	ackedRate float64

	// For a viewer that sends no transport-cc feedback: the latest one
	// (zero: never), and the fallback's inputs (rtcpfallback.go).
	lastTWCC time.Time
	rrLossAt time.Time
	rtt      time.Duration // smoothed, from receiver reports; 0: unknown
}

func newPathEstimator(start, min, max int) *pathEstimator {
	return &pathEstimator{rate: float64(start), minRate: float64(min), maxRate: float64(max), threshold: thresholdInit, usage: "normal"}
}

// sent numbers a packet of size bytes sent now.
func (e *pathEstimator) sent(size int, now int64) uint16 {
	e.mu.Lock()
	seq := e.next
	e.next++
	e.ring[seq%sentRing] = sentPacket{at: now, size: int32(size), seq: seq}
	e.mu.Unlock()
	return seq
}

// feedback takes a transport-cc report received now: its reference time
// (ns) and its packets' statuses in order.
func (e *pathEstimator) feedback(ref int64, statuses func(yield func(twccStatus) bool), now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lastTWCC = now
	arrival := ref
	lost, got := 0, 0
	for s := range statuses {
		if !s.received {
			lost++
			continue
		}
		if !s.hasDelta {
			continue
		}
		arrival += s.delta * int64(time.Microsecond)
		p := e.ring[s.seq%sentRing]
		if p.at == 0 || p.seq != s.seq {
			continue // too old to remember
		}
		got++
		e.arrived(p, arrival)
	}
	if lost+got > 0 {
		e.loss = 0.8*e.loss + 0.2*float64(lost)/float64(lost+got)
		e.lostN += lost
		e.countN += lost + got
	}
	e.control(now)
}

// arrived takes one packet's send and arrival times into the delay trend
// and the acknowledged rate.
func (e *pathEstimator) arrived(p sentPacket, arr int64) {
	if e.ackFrom == 0 {
		e.ackFrom = arr
	}
	e.ackBytes += int64(p.size)
	if span := arr - e.ackFrom; span >= int64(ackWindow) {
		r := float64(e.ackBytes) * 8 / (float64(span) / 1e9)
		if e.ackedRate == 0 {
			e.ackedRate = r
		} else {
			e.ackedRate = 0.5*e.ackedRate + 0.5*r
		}
		e.ackBytes, e.ackFrom = 0, arr
	}
	if !e.haveGroup {
		e.groupSend, e.groupArr, e.haveGroup = p.at, arr, true
		return
	}
	if p.at-e.groupSend < int64(groupSpan) {
		e.groupArr = max(e.groupArr, arr)
		return
	}
	// The open group is complete: compare it with the one before.
	if e.havePrev {
		d := float64((e.groupArr-e.prevArr)-(e.groupSend-e.prevSend)) / 1e6 // ms
		e.accDelay += d
		e.smoothed = 0.9*e.smoothed + 0.1*e.accDelay
		e.points[e.npoints%trendWindow] = [2]float64{float64(e.groupArr) / 1e6, e.smoothed}
		e.npoints++
		e.seen++
		e.detect(e.groupArr)
	}
	e.prevSend, e.prevArr, e.havePrev = e.groupSend, e.groupArr, true
	e.groupSend, e.groupArr = p.at, arr
}

// detect fits the delay trend and compares it with the adaptive threshold.
func (e *pathEstimator) detect(now int64) {
	n := min(e.npoints, trendWindow)
	if n < 2 {
		return
	}
	var sx, sy float64
	for i := range n {
		sx += e.points[i][0]
		sy += e.points[i][1]
	}
	mx, my := sx/float64(n), sy/float64(n)
	var num, den float64
	for i := range n {
		dx := e.points[i][0] - mx
		num += dx * (e.points[i][1] - my)
		den += dx * dx
	}
	if den == 0 {
		return
	}
	trend := num / den * float64(min(e.seen, 60)) * trendGain
	switch {
	case trend > e.threshold:
		e.usage = "overuse"
	case trend < -e.threshold:
		e.usage = "underuse"
	default:
		e.usage = "normal"
	}
	if e.lastThresh != 0 && math.Abs(trend) < e.threshold+15 {
		k := kDown
		if math.Abs(trend) > e.threshold {
			k = kUp
		}
		dt := min(float64(now-e.lastThresh)/1e6, 100)
		e.threshold = min(max(e.threshold+k*(math.Abs(trend)-e.threshold)*dt, 6), 600)
	}
	e.lastThresh = now
}

// control moves the estimate after a report.
func (e *pathEstimator) control(now time.Time) {
	dt := 0.0
	if !e.lastUpdate.IsZero() {
		dt = min(now.Sub(e.lastUpdate).Seconds(), 1)
	}
	e.lastUpdate = now
	switch {
	case e.usage == "overuse" && e.ackedRate > 0:
		e.rate = min(e.rate, 0.85*e.ackedRate)
	case e.usage == "normal":
		grown := e.rate * math.Pow(1.08, dt)
		if e.ackedRate > 0 {
			grown = min(grown, max(1.5*e.ackedRate, e.rate))
		}
		e.rate = grown
	}
	// Loss: at most once per interval, from that interval's share, half the
	// loss off (GCC's loss-based controller), never report after report.
	if now.Sub(e.lossAt) >= lossInterval && e.countN > 0 {
		if l := float64(e.lostN) / float64(e.countN); l > 0.1 {
			e.rate *= 1 - 0.5*l
		}
		e.lostN, e.countN, e.lossAt = 0, 0, now
	}
	e.rate = min(max(e.rate, e.minRate), e.maxRate)
}

// GetTargetBitrate is the estimate, bits/s (allocator's estimator).
func (e *pathEstimator) GetTargetBitrate() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return int(e.rate)
}

// GetStats reports loss and the delay trend (allocator's pathReporter).
func (e *pathEstimator) GetStats() map[string]any {
	e.mu.Lock()
	defer e.mu.Unlock()
	return map[string]any{"averageLoss": e.loss, "usage": e.usage, "rtt": e.rtt}
}
