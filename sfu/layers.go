package sfu

import (
	"fmt"
	"slices"
	"strings"
)

// Simulcast (RFC 8853): a publisher sends up to maxLayers encodings of its
// video, each an RTP stream named by a RID (RFC 8851). The SFU ranks them
// from the lowest to the highest so layer 0 is always the smallest.
//
// The SDP says nothing of an encoding's size, so the ranking follows the
// names in common use: q, h, f (quarter, half, full: LiveKit's clients and
// the onair studio), l, m, h (low, mid, high), and numbers (the higher, the
// better). Other names keep the order of a=simulcast, read as highest
// first, the order of the WebRTC specification's examples.

var ridOrders = [][]string{{"q", "h", "f"}, {"l", "m", "h"}, {"low", "mid", "high"}}

// rankRIDs orders rids from the lowest encoding to the highest.
func rankRIDs(rids []string) []string {
	for _, order := range ridOrders {
		if all(rids, func(r string) bool { return slices.Contains(order, strings.ToLower(r)) }) {
			out := slices.Clone(rids)
			slices.SortFunc(out, func(a, b string) int {
				return slices.Index(order, strings.ToLower(a)) - slices.Index(order, strings.ToLower(b))
			})
			return out
		}
	}
	if all(rids, func(r string) bool { return r != "" && strings.Trim(r, "0123456789") == "" }) {
		out := slices.Clone(rids)
		slices.SortFunc(out, func(a, b string) int { return cmpNumeric(a, b) })
		return out
	}
	out := slices.Clone(rids)
	slices.Reverse(out)
	return out
}

func all(ss []string, ok func(string) bool) bool {
	for _, s := range ss {
		if !ok(s) {
			return false
		}
	}
	return true
}

// cmpNumeric compares decimal strings by value.
func cmpNumeric(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// checkSimulcast refuses what the SFU cannot forward.
func checkSimulcast(info offerInfo) error {
	for i, m := range info.video {
		if len(m.rids) > maxLayers {
			return fmt.Errorf("%w: video section %d offers %d simulcast encodings; at most %d are taken", ErrBadOffer, i, len(m.rids), maxLayers)
		}
		if i > 0 && len(m.rids) > 0 {
			return fmt.Errorf("%w: simulcast is taken on the first video section only", ErrBadOffer)
		}
	}
	return nil
}

// ParseLayer reads a layer a viewer asks for: "low", "mid", "high" (or q, h,
// f, or 0, 1, 2); "auto" or "" gives -1, the allocator's choice.
func ParseLayer(s string) (int, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return -1, nil
	case "low", "q", "l", "0":
		return 0, nil
	case "mid", "h", "m", "1":
		return 1, nil
	case "high", "f", "2":
		return 2, nil
	}
	return 0, fmt.Errorf("%w: layer %q: low, mid, high or auto", ErrBadLayer, s)
}
