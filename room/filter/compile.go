package filter

import (
	"fmt"
	"slices"
	"unicode/utf8"
)

// Compile normalises every rule word (with the same normaliser Check applies
// to text) and builds an Aho–Corasick automaton over the normalised runes.
//
// A word that normalises to nothing is rejected with ErrEmptyWord, an Action
// other than Mask, Review or Block with ErrInvalidAction; the error names the
// rule. Words that normalise to the same runes are merged and keep the
// strongest action (Block > Review > Mask). Compile(nil) returns a Filter
// that matches nothing.
func Compile(rules []Rule) (*Filter, error) {
	f := &Filter{}
	f.classes.tab = make([]uint32, 256) // page 0: all runes absent
	byKey := make(map[string]int32, len(rules))
	var norms [][]rune
	for i, r := range rules {
		if r.Action < Mask || r.Action > Block {
			return nil, fmt.Errorf("rule %d %q: action %d: %w", i, r.Word, r.Action, ErrInvalidAction)
		}
		rs := normalizeWord(r.Word)
		if len(rs) == 0 {
			return nil, fmt.Errorf("rule %d %q: %w", i, r.Word, ErrEmptyWord)
		}
		key := string(rs)
		if id, ok := byKey[key]; ok {
			if w := &f.words[id]; r.Action > w.action {
				w.text, w.action = r.Word, r.Action
			}
			continue
		}
		byKey[key] = int32(len(f.words))
		f.words = append(f.words, word{text: r.Word, action: r.Action, n: len(rs)})
		norms = append(norms, rs)
		f.maxLen = max(f.maxLen, len(rs))
	}

	// Classes: ASCII runes first, so they get the small ids the dense
	// transition table covers.
	nclass := uint32(0)
	for _, ascii := range []bool{true, false} {
		for _, rs := range norms {
			for _, r := range rs {
				if (r < utf8.RuneSelf) == ascii && f.classes.of(r) == 0 {
					nclass++
					f.classes.set(r, nclass)
				}
			}
		}
		if ascii {
			f.dense = int(nclass) + 1
		}
	}

	// Trie. kids[s] are the goto edges of s; goTo indexes them for building.
	kids := [][]edge{nil}
	outs := []int32{-1}
	goTo := make(map[uint64]uint32)
	for id, rs := range norms {
		s := uint32(0)
		for _, r := range rs {
			c := f.classes.of(r)
			k := uint64(s)<<32 | uint64(c)
			t, ok := goTo[k]
			if !ok {
				t = uint32(len(kids))
				goTo[k] = t
				kids = append(kids, nil)
				outs = append(outs, -1)
				kids[s] = append(kids[s], edge{class: c, next: t})
			}
			s = t
		}
		outs[s] = int32(id)
	}

	// Flatten the edges, sorted by class per state.
	f.states = make([]state, len(kids))
	for s, es := range kids {
		slices.SortFunc(es, func(a, b edge) int { return int(a.class) - int(b.class) })
		lo := uint32(len(f.edges))
		f.edges = append(f.edges, es...)
		f.states[s] = state{lo: lo, hi: uint32(len(f.edges)), out: outs[s], dict: -1}
	}
	f.root = make([]uint32, nclass+1)
	for _, e := range kids[0] {
		f.root[e.class] = e.next
	}

	// Failure and dictionary links, breadth first (Aho & Corasick 1975).
	queue := make([]uint32, 0, len(kids))
	for _, e := range kids[0] {
		queue = append(queue, e.next) // fail = root
	}
	for qi := 0; qi < len(queue); qi++ {
		u := queue[qi]
		for _, e := range kids[u] {
			v := e.next
			// Children of u fail to the transition of fail(u) on their class;
			// f.next walks the fail chain of already-linked states.
			fv := uint32(0)
			if u != 0 {
				fv = f.next(f.states[u].fail, e.class)
			}
			f.states[v].fail = fv
			if f.states[fv].out >= 0 {
				f.states[v].dict = int32(fv)
			} else {
				f.states[v].dict = f.states[fv].dict
			}
			queue = append(queue, v)
		}
	}

	// Dense DFA rows for the ASCII classes: delta[s*dense+c] is the
	// transition with the fail links already followed. Rows are filled in
	// breadth-first order, so the fail state's row is always ready.
	if f.dense > 1 && len(f.states)*f.dense <= maxDense {
		d := f.dense
		f.delta = make([]uint32, len(f.states)*d)
		copy(f.delta, f.root[:d])
		for _, u := range queue {
			row := f.delta[int(u)*d : int(u+1)*d]
			copy(row, f.delta[int(f.states[u].fail)*d:][:d])
			for _, e := range kids[u] {
				if int(e.class) < d {
					row[e.class] = e.next
				}
			}
		}
	} else {
		f.dense = 0
	}
	return f, nil
}

// maxDense caps the dense transition table (entries of 4 bytes); bigger
// lists use the sparse edges for ASCII too.
const maxDense = 1 << 24

// set assigns class c to rune r.
func (m *classMap) set(r rune, c uint32) {
	if r >= 0x10000 {
		if m.astral == nil {
			m.astral = make(map[rune]uint32)
		}
		m.astral[r] = c
		return
	}
	p := m.page[r>>8]
	if p == 0 {
		p = uint16(len(m.tab) >> 8)
		m.page[r>>8] = p
		m.tab = append(m.tab, make([]uint32, 256)...)
	}
	m.tab[int(p)<<8|int(r&0xff)] = c
}
