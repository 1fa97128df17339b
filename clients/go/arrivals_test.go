package client

import "testing"

// Arrivals are kept per stream and packet: a viewer's video, audio and RTX
// with the same sequence numbers do not evict one another, a resend keeps
// the first arrival, and what is not RTP is not recorded.
func TestArrivals(t *testing.T) {
	var a arrivals
	rtpPacket := func(ssrc uint32, seq uint16) []byte {
		return []byte{0x80, 96, byte(seq >> 8), byte(seq), 0, 0, 0, 0, byte(ssrc >> 24), byte(ssrc >> 16), byte(ssrc >> 8), byte(ssrc)}
	}
	streams := []uint32{0x1234, 0x5678, 0xdeadbeef}
	for i, ssrc := range streams {
		for seq := range uint16(300) {
			a.saw(rtpPacket(ssrc, seq), int64(i*1000+int(seq)+1))
		}
	}
	for i, ssrc := range streams {
		for _, seq := range []uint16{0, 150, 299} {
			if got, want := a.at(ssrc, seq), int64(i*1000+int(seq)+1); got != want {
				t.Errorf("ssrc %x seq %d: arrived %d, want %d", ssrc, seq, got, want)
			}
		}
	}
	a.saw(rtpPacket(0x1234, 5), 99_999)
	if got := a.at(0x1234, 5); got != 6 {
		t.Errorf("a resend moved the arrival to %d", got)
	}
	// RTCP (a sender report, type 200) and a short datagram are not RTP.
	a.saw([]byte{0x80, 200, 0, 6, 0, 0, 0x12, 0x34, 0, 0, 0, 0}, 5)
	a.saw([]byte{0x80, 96, 0}, 5)
	if a.at(0x1234, 300) != 0 || a.at(0x9999, 0) != 0 {
		t.Error("a packet never received has an arrival")
	}
	var none *arrivals
	if none.at(1, 1) != 0 {
		t.Error("no table, yet an arrival")
	}
}
