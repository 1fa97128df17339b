package sfu

import (
	"slices"
	"testing"

	"github.com/pion/rtcp"
)

// twccSamples are feedback packets with every kind of chunk: runs,
// one-bit and two-bit status vectors, small, large and negative deltas, a
// last chunk that covers more than the count, and a wrap of the sequence.
func twccSamples() []*rtcp.TransportLayerCC {
	return []*rtcp.TransportLayerCC{
		{
			SenderSSRC: 1, MediaSSRC: 2, BaseSequenceNumber: 65530, PacketStatusCount: 22, ReferenceTime: 0x123456, FbPktCount: 7,
			PacketChunks: []rtcp.PacketStatusChunk{
				&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketReceivedSmallDelta, RunLength: 3},
				&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketNotReceived, RunLength: 2},
				&rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeOneBit, SymbolList: []uint16{1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1}},
				&rtcp.StatusVectorChunk{SymbolSize: rtcp.TypeTCCSymbolSizeTwoBit, SymbolList: []uint16{2, 1, 0, 2, 0, 0, 0}},
			},
			RecvDeltas: []*rtcp.RecvDelta{
				{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 250}, {Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 0},
				{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 63750},
				{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 1000}, {Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 500},
				{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 750}, {Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 250},
				{Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 2500},
				{Type: rtcp.TypeTCCPacketReceivedLargeDelta, Delta: -8000}, {Type: rtcp.TypeTCCPacketReceivedSmallDelta, Delta: 250},
				{Type: rtcp.TypeTCCPacketReceivedLargeDelta, Delta: 8191750},
			},
		},
		{BaseSequenceNumber: 9, PacketStatusCount: 1, PacketChunks: []rtcp.PacketStatusChunk{
			&rtcp.RunLengthChunk{PacketStatusSymbol: rtcp.TypeTCCPacketNotReceived, RunLength: 1},
		}},
	}
}

// marshalTWCC marshals fb with the header pion's TWCC interceptor gives it
// (the packet's length, padded to 32 bits).
func marshalTWCC(fb *rtcp.TransportLayerCC) []byte {
	n := 20 + 2*len(fb.PacketChunks)
	for _, d := range fb.RecvDeltas {
		n += 1 + int(d.Type/rtcp.TypeTCCPacketReceivedLargeDelta) // 1 byte small, 2 large
	}
	padded := (n + 3) / 4 * 4
	fb.Header = rtcp.Header{Count: rtcp.FormatTCC, Type: rtcp.TypeTransportSpecificFeedback, Padding: padded != n, Length: uint16(padded/4 - 1)}
	raw, err := fb.Marshal()
	if err != nil {
		panic(err)
	}
	return raw
}

func collect(statuses func(func(twccStatus) bool)) []twccStatus {
	var out []twccStatus
	for s := range statuses {
		out = append(out, s)
	}
	return out
}

// The wire's reader of a feedback packet sees the statuses pion's parser
// does, in order, with the same deltas.
func TestParseTWCCAgreesWithPion(t *testing.T) {
	for i, fb := range twccSamples() {
		raw := marshalTWCC(fb)
		f, err := parseTWCC(raw)
		if err != nil {
			t.Fatalf("sample %d: %v", i, err)
		}
		var back rtcp.TransportLayerCC
		if err := back.Unmarshal(raw); err != nil {
			t.Fatal(err)
		}
		got, want := collect(f.statuses), collect(pionStatuses(&back))
		if len(got) != int(fb.PacketStatusCount) || !slices.Equal(got, want) {
			t.Fatalf("sample %d:\n got %v\nwant %v", i, got, want)
		}
		if f.ref != int64(back.ReferenceTime)*64e6 || f.base != back.BaseSequenceNumber {
			t.Fatalf("sample %d: ref %d base %d", i, f.ref, f.base)
		}
		if i == 0 && (got[0].seq != 65530 || got[6].seq != 0 || got[2].delta != 63750 || !got[2].hasDelta) {
			t.Fatalf("sample 0: %v", got)
		}
		// Stopping early stops.
		n := 0
		for range f.statuses {
			n++
			if n == 2 {
				break
			}
		}
		if n != min(2, len(got)) {
			t.Fatalf("walked %d after a break", n)
		}
	}
}

// A feedback cut short, or whose chunks claim deltas it lacks, or that is
// about more packets than the estimator remembers, is refused.
func TestParseTWCCRefusesMalformed(t *testing.T) {
	raw := marshalTWCC(twccSamples()[0])
	for _, n := range []int{0, 4, 19, 20, 22, len(raw) - 4} {
		cut := slices.Clone(raw[:n])
		if n >= 4 {
			cut[2], cut[3] = 0, byte(len(raw)/4-1) // the header still claims the whole
		}
		if _, err := parseTWCC(cut); err == nil {
			t.Errorf("cut to %d bytes: accepted", n)
		}
	}
	short := slices.Clone(raw)
	short[3] = 5 // 24 bytes: two chunks, no deltas
	if _, err := parseTWCC(short); err == nil {
		t.Error("a feedback without its deltas was accepted")
	}
	big := slices.Clone(raw)
	big[14], big[15] = 0xff, 0xff
	if _, err := parseTWCC(big); err == nil {
		t.Error("65535 statuses accepted")
	}
	if _, err := parseTWCC(raw); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseTWCC(f *testing.F) {
	for _, fb := range twccSamples() {
		f.Add(marshalTWCC(fb))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fb, err := parseTWCC(raw)
		if err != nil {
			return
		}
		got := collect(fb.statuses)
		if len(got) != fb.count {
			t.Fatalf("%d statuses of %d", len(got), fb.count)
		}
	})
}
