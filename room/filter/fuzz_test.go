package filter

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// refNormalize is the obvious, slow definition of the normaliser: NFKC of
// each run of valid UTF-8 (invalid bytes are dropped and split the text),
// then per-rune classify, then collapse runs.
func refNormalize(s string) []rune {
	var nfkc strings.Builder
	for len(s) > 0 {
		i := 0
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		nfkc.WriteString(norm.NFKC.String(s[:i]))
		s = s[min(i+1, len(s)):]
	}
	var out []rune
	prev := rune(-1)
	for _, c := range nfkc.String() {
		r, keep := classify(c)
		if !keep || r == prev {
			continue
		}
		out = append(out, r)
		prev = r
	}
	return out
}

// checkInvariants verifies what must hold for any Check result.
func checkInvariants(t *testing.T, f *Filter, text string, res Result) {
	t.Helper()
	bounds := make(map[int]bool)
	for i := range text {
		bounds[i] = true
	}
	bounds[len(text)] = true
	strongest := Action(0)
	covered := make([]bool, len(text))
	for _, m := range res.Matches {
		if m.Start < 0 || m.Start >= m.End || m.End > len(text) || !bounds[m.Start] || !bounds[m.End] {
			t.Fatalf("bad match %+v in %q (len %d)", m, text, len(text))
		}
		if m.Action < Mask || m.Action > Block {
			t.Fatalf("bad action in %+v", m)
		}
		strongest = max(strongest, m.Action)
		for i := m.Start; i < m.End; i++ {
			covered[i] = true
		}
	}
	if res.Action != strongest {
		t.Fatalf("Action = %v, strongest match %v", res.Action, strongest)
	}
	if utf8.RuneCountInString(res.Masked) != utf8.RuneCountInString(text) {
		t.Fatalf("Masked %q has %d runes, text %q has %d", res.Masked, utf8.RuneCountInString(res.Masked), text, utf8.RuneCountInString(text))
	}
	var want strings.Builder
	for i := 0; i < len(text); {
		_, n := utf8.DecodeRuneInString(text[i:])
		if covered[i] {
			want.WriteByte('*')
		} else {
			want.WriteString(text[i : i+n])
		}
		i += n
	}
	if res.Masked != want.String() {
		t.Fatalf("Masked = %q, want %q", res.Masked, want.String())
	}
}

func FuzzCheck(f *testing.F) {
	f.Add("fuck\n敏感词\nabc\nbcd", "f.u.c.k 敏，感 词 xabcdx", uint8(0))
	f.Add("Ｆｕｃｋ\nass", "motherfuuuuckers ＡＳＳ", uint8(1))
	f.Add("e\u0301\n\u00e9a", "e\u0301\u0301a\u200b", uint8(2))
	f.Add("\ufdfa\n\u0f73", "x\ufdfa\u0f73y", uint8(3))
	f.Add("a\nab\nabc\nb", "aaabbbccc", uint8(4))
	f.Fuzz(func(t *testing.T, words, text string, seed uint8) {
		var rules []Rule
		for i, w := range strings.Split(words, "\n") {
			if len(normalizeWord(w)) == 0 {
				if _, err := Compile([]Rule{{w, Mask}}); err == nil {
					t.Fatalf("Compile(%q) accepted an empty word", w)
				}
				continue
			}
			rules = append(rules, Rule{w, Action(1 + (i+int(seed))%3)})
		}
		if len(rules) > 0 && seed&8 != 0 {
			text = rules[int(seed)%len(rules)].Word // a text equal to a rule word
		}
		flt, err := Compile(rules)
		if err != nil {
			t.Fatalf("Compile: %v", err)
		}
		res := flt.Check(text)
		checkInvariants(t, flt, text, res)
		for _, r := range rules {
			if r.Word == text && res.Action < r.Action {
				t.Fatalf("text equal to rule %+v: Action %v, matches %+v", r, res.Action, res.Matches)
			}
		}
		// The dense ASCII rows and the sparse edges agree.
		sparse := *flt
		sparse.dense = 0
		if res2 := sparse.Check(text); !slices.Equal(res.Matches, res2.Matches) {
			t.Fatalf("dense %+v, sparse %+v", res.Matches, res2.Matches)
		}
		// Every occurrence is reported: compare counts with a naive search.
		nt := normalizeWord(text)
		want := 0
		for _, w := range flt.words {
			nw := normalizeWord(w.text)
			for i := 0; i+len(nw) <= len(nt); i++ {
				if slices.Equal(nt[i:i+len(nw)], nw) {
					want++
				}
			}
		}
		if len(res.Matches) != want {
			t.Fatalf("%d matches %+v, naive search finds %d", len(res.Matches), res.Matches, want)
		}
		if got, want := nt, refNormalize(text); !slices.Equal(got, want) {
			t.Fatalf("normalize(%q) = %q, reference %q", text, string(got), string(want))
		}
	})
}
