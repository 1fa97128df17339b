package redpacket

import (
	crand "crypto/rand"
	"encoding/binary"
	"math/rand/v2"
)

// Split divides coins into n shares by the double-mean method (see the
// package doc): every share at least 1, the sum exactly coins. It needs
// 1 <= n <= coins. r draws the shares; nil means crypto/rand.
func Split(coins int64, n int, r *rand.Rand) []int64 {
	if n < 1 || int64(n) > coins {
		panic("redpacket: Split needs 1 <= shares <= coins")
	}
	if r == nil {
		r = rand.New(cryptoSource{})
	}
	out := make([]int64, n)
	left := coins
	for i := range n - 1 {
		k := int64(n - i) // shares still to fill, this one included
		// Up to twice the mean, less one: mean left/k, and at least one coin
		// stays for each of the k-1 shares after this one (2M/k - 1 <= M-k+1
		// when M >= k).
		hi := max(1, 2*left/k-1)
		hi = min(hi, left-(k-1))
		out[i] = 1 + r.Int64N(hi)
		left -= out[i]
	}
	out[n-1] = left
	return out
}

// cryptoSource is a math/rand/v2 source that reads crypto/rand, so that
// rand.Rand's unbiased Int64N draws unpredictable shares.
type cryptoSource struct{}

func (cryptoSource) Uint64() uint64 {
	var b [8]byte
	_, _ = crand.Read(b[:]) // never fails (it crashes the program instead)
	return binary.LittleEndian.Uint64(b[:])
}
