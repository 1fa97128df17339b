package filter

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Action is what the platform does with a message that matched a rule.
// Larger is stronger: Block > Review > Mask. The zero Action means "no match".
type Action uint8

const (
	// Mask delivers the message with the matched characters replaced by '*'.
	Mask Action = iota + 1
	// Review holds the message for a moderator.
	Review
	// Block drops the message.
	Block
)

// String returns "mask", "review", "block", or "none" for the zero Action.
func (a Action) String() string {
	switch a {
	case 0:
		return "none"
	case Mask:
		return "mask"
	case Review:
		return "review"
	case Block:
		return "block"
	}
	return "Action(" + itoa(int(a)) + ")"
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// Rule is one entry of the platform word list.
type Rule struct {
	Word   string
	Action Action
}

// Match is one occurrence of a rule word in a checked text.
type Match struct {
	// Word is the rule's Word as given to Compile. When several rules
	// normalise to the same word, it is the Word of the strongest one
	// (the first of equals).
	Word string
	// Start and End are byte offsets into the original text, on UTF-8
	// sequence boundaries: text[Start:End] is the matched span, from the
	// first matched letter to the last, with any dropped characters
	// (spaces, punctuation, ...) and repeated letters in between.
	Start, End int
	// Action is the rule's action.
	Action Action
}

// Result is the verdict on one text.
type Result struct {
	// Action is the strongest Action among Matches; 0 if none.
	Action Action
	// Matches holds every occurrence of every rule word, overlapping ones
	// included, ordered by End and, for equal End, longest first. It is nil
	// when nothing matched.
	Matches []Match
	// Masked is the text with each rune inside any match span replaced by
	// one '*'; all other bytes are kept exactly. When nothing matched it is
	// the text itself.
	Masked string
}

// Filter is a compiled word list. It is immutable and safe for concurrent
// use; to change the list, Compile a new Filter and swap it in (for example
// through an atomic.Pointer[Filter]). A nil *Filter matches nothing.
type Filter struct {
	words   []word   // output id → word
	states  []state  // state 0 is the root
	edges   []edge   // goto edges, grouped per state and sorted by class
	root    []uint32 // class → next state from the root (dense)
	delta   []uint32 // dense DFA rows for classes < dense, see Compile
	dense   int      // row width of delta; 0 when there is none
	classes classMap
	maxLen  int // longest normalised word, in runes
}

type word struct {
	text   string
	action Action
	n      int // normalised length in runes
}

// state is an Aho–Corasick node. edges[lo:hi] are its goto edges.
type state struct {
	lo, hi uint32
	fail   uint32
	out    int32 // word ending here, or -1
	dict   int32 // nearest state on the fail chain with out ≥ 0, or -1
}

type edge struct {
	class uint32
	next  uint32
}

// classMap maps a normalised rune to a dense class id; 0 means "in no word".
// The BMP goes through a two-level table (256 pages of 256 runes, absent
// pages share the all-zero page 0); other planes use a map.
type classMap struct {
	page   [256]uint16
	tab    []uint32
	astral map[rune]uint32
}

func (m *classMap) of(r rune) uint32 {
	if r < 0x10000 {
		return m.tab[int(m.page[r>>8])<<8|int(r&0xff)]
	}
	return m.astral[r]
}

// Words reports how many distinct normalised words f holds.
func (f *Filter) Words() int {
	if f == nil {
		return 0
	}
	return len(f.words)
}

// next is the Aho–Corasick transition from s on class c.
func (f *Filter) next(s, c uint32) uint32 {
	if c == 0 {
		return 0
	}
	for s != 0 {
		st := &f.states[s]
		es := f.edges[st.lo:st.hi]
		if len(es) <= 8 {
			for _, e := range es {
				if e.class == c {
					return e.next
				}
			}
		} else {
			lo, hi := 0, len(es)
			for lo < hi {
				m := int(uint(lo+hi) >> 1)
				if es[m].class < c {
					lo = m + 1
				} else {
					hi = m
				}
			}
			if lo < len(es) && es[lo].class == c {
				return es[lo].next
			}
		}
		s = st.fail
	}
	return f.root[c]
}

// ringStack is the size of the on-stack ring of rune start offsets; word
// lists whose longest normalised word is longer get a heap ring.
const ringStack = 64

// Check normalises text, finds every rule word in it and masks the matches.
// It allocates nothing for a clean ASCII text; non-ASCII text borrows a
// pooled NFKC iterator.
func (f *Filter) Check(text string) Result {
	res := Result{Masked: text}
	if f == nil || len(f.words) == 0 || text == "" {
		return res
	}
	var ringBuf [ringStack]int
	ring := ringBuf[:]
	if f.maxLen > ringStack {
		ring = make([]int, 1<<bitsFor(f.maxLen))
	}
	mask := len(ring) - 1

	var sc scanner
	sc.init(text)
	var (
		s       uint32
		prev    = rune(-1)
		n       int // normalised runes emitted
		lastEnd int // original end of the last emitted rune
		tail    int // Matches[tail:] end at the last emitted rune
	)
	for {
		r, start, end, ok := sc.next()
		if !ok {
			break
		}
		if r == prev {
			// A repeated letter collapses into the previous one, whose
			// span now reaches this copy too.
			lastEnd = end
			for i := tail; i < len(res.Matches); i++ {
				res.Matches[i].End = end
			}
			continue
		}
		prev, lastEnd = r, end
		ring[n&mask] = start
		n++
		tail = len(res.Matches)
		if c := f.classes.of(r); int(c) < f.dense {
			s = f.delta[int(s)*f.dense+int(c)]
		} else {
			s = f.next(s, c)
		}
		st := &f.states[s]
		if st.out < 0 && st.dict < 0 {
			continue
		}
		for o := int32(s); o >= 0; o = f.states[o].dict {
			id := f.states[o].out
			if id < 0 {
				continue
			}
			w := &f.words[id]
			res.Matches = append(res.Matches, Match{
				Word:   w.text,
				Start:  ring[(n-w.n)&mask],
				End:    lastEnd,
				Action: w.action,
			})
			res.Action = max(res.Action, w.action)
		}
	}
	sc.release()
	if len(res.Matches) > 0 {
		res.Masked = maskSpans(text, res.Matches)
	}
	return res
}

func bitsFor(n int) int {
	b := 0
	for 1<<b < n {
		b++
	}
	return b
}

// maskSpans replaces each rune inside the union of the match spans by '*'.
func maskSpans(text string, ms []Match) string {
	type span struct{ start, end int }
	spans := make([]span, len(ms))
	for i, m := range ms {
		spans[i] = span{m.Start, m.End}
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	var b strings.Builder
	b.Grow(len(text))
	pos := 0 // text[:pos] has been written
	for _, sp := range spans {
		if sp.end <= pos {
			continue
		}
		if sp.start > pos {
			b.WriteString(text[pos:sp.start])
			pos = sp.start
		}
		for pos < sp.end {
			_, size := utf8.DecodeRuneInString(text[pos:])
			b.WriteByte('*')
			pos += size
		}
	}
	b.WriteString(text[pos:])
	return b.String()
}
