package sfu

import (
	"time"

	"github.com/pion/rtcp"
)

// What a viewer's other reports add to its path estimate.
//
// Transport-wide feedback is what the estimate is made from (pathest.go).
// A viewer that does not send it (a player without transport-cc) still
// sends receiver reports, and may send REMB (its own estimate of what it
// can receive): from those the estimate follows REMB, or, without REMB,
// GCC's loss-based rule over the reports' fraction lost. Receiver reports
// also give the round-trip time (RFC 3550 §6.4.1), which spaces repairs
// of the same packet (wire.go).

// fallbackAfter is how long without transport-cc feedback before the
// viewer's REMB and receiver reports steer its estimate.
const fallbackAfter = 2 * time.Second

// withoutTWCC: the viewer has sent no transport-cc feedback lately.
func (e *pathEstimator) withoutTWCC(now time.Time) bool {
	return e.lastTWCC.IsZero() || now.Sub(e.lastTWCC) > fallbackAfter
}

// remb takes a viewer's REMB (bits/s).
func (e *pathEstimator) remb(bps float64, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.withoutTWCC(now) && bps > 0 {
		e.rate = min(max(bps, e.minRate), e.maxRate)
	}
}

// reportedLoss takes the fraction lost of a receiver report block (of 256):
// over 10 % takes half the loss off the estimate, under 2 % lets it grow
// 5 %, at most once per loss interval.
func (e *pathEstimator) reportedLoss(fraction uint8, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.withoutTWCC(now) || now.Sub(e.rrLossAt) < lossInterval {
		return
	}
	e.rrLossAt = now
	switch l := float64(fraction) / 256; {
	case l > 0.1:
		e.rate *= 1 - 0.5*l
	case l < 0.02:
		e.rate *= 1.05
	}
	e.loss = 0.9*e.loss + 0.1*float64(fraction)/256
	e.rate = min(max(e.rate, e.minRate), e.maxRate)
}

// roundTrip takes a round-trip time measured now.
func (e *pathEstimator) roundTrip(rtt time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rtt == 0 {
		e.rtt = rtt
	} else {
		e.rtt = (7*e.rtt + rtt) / 8
	}
}

// RTT is the smoothed round-trip time; 0 while unknown.
func (e *pathEstimator) RTT() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rtt
}

// rttOf is the round trip a report block of a receiver report received at
// now tells: now less the time of the sender report it answers (LSR, the
// middle 32 bits of its NTP time) and the time the viewer held it (DLSR),
// both in 1/65536 s; false when it answers none or is implausible.
func rttOf(r rtcp.ReceptionReport, now time.Time) (time.Duration, bool) {
	if r.LastSenderReport == 0 {
		return 0, false
	}
	mid := uint32(ntpTime(now) >> 16)
	units := mid - r.LastSenderReport - r.Delay
	if units > 10*65536 { // over 10 s, or negative: a clock or report astray
		return 0, false
	}
	return time.Duration(units) * time.Second / 65536, true
}
