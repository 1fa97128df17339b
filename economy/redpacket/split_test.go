package redpacket

import (
	"math/rand/v2"
	"testing"
)

// Every split has n shares of at least 1 coin summing to coins, whatever the
// draws; with crypto/rand (nil) too.
func TestSplitShape(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := [][2]int64{{1, 1}, {2, 2}, {3, 2}, {10, 10}, {11, 10}, {100, 1}, {100, 3}, {1000, 10}, {100_000, 100}, {1 << 40, 1000}, {1000, 1000}}
	for range 2000 {
		n := 1 + r.Int64N(50)
		cases = append(cases, [2]int64{n + r.Int64N(200), n})
	}
	for _, c := range cases {
		for _, src := range []*rand.Rand{r, nil} {
			coins, n := c[0], int(c[1])
			split := Split(coins, n, src)
			if len(split) != n {
				t.Fatalf("Split(%d, %d): %d shares", coins, n, len(split))
			}
			var sum int64
			for i, s := range split {
				if s < 1 {
					t.Fatalf("Split(%d, %d): share %d is %d: %v", coins, n, i, s, split)
				}
				sum += s
			}
			if sum != coins {
				t.Fatalf("Split(%d, %d) sums to %d: %v", coins, n, sum, split)
			}
		}
	}
}

// The double mean: every position's average share is about the mean, and the
// shares vary (a split is not the same every time).
func TestSplitIsFairAndRandom(t *testing.T) {
	const coins, n, runs = 1000, 10, 20000
	r := rand.New(rand.NewPCG(3, 4))
	var sums [n]int64
	distinct := map[[n]int64]bool{}
	for range runs {
		var key [n]int64
		for i, s := range Split(coins, n, r) {
			sums[i] += s
			key[i] = s
		}
		distinct[key] = true
	}
	for i, s := range sums {
		avg := float64(s) / runs
		if avg < 95 || avg > 105 {
			t.Errorf("share %d averages %.1f coins, want about %d", i, avg, coins/n)
		}
	}
	if len(distinct) < runs*9/10 {
		t.Errorf("%d distinct splits in %d", len(distinct), runs)
	}
	a, b := Split(coins, n, nil), Split(coins, n, nil)
	if a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] {
		t.Errorf("two crypto splits begin alike: %v, %v", a, b) // 1 in ~10^7
	}
}

func TestSplitRefusesImpossible(t *testing.T) {
	for _, c := range [][2]int64{{0, 1}, {1, 0}, {2, 3}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Split(%d, %d) did not panic", c[0], c[1])
				}
			}()
			Split(c[0], int(c[1]), nil)
		}()
	}
}
