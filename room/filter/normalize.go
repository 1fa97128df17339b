package filter

import (
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// This file is the normaliser shared by Compile (for rule words) and Check
// (for chat text). Both sides must go through exactly the same code, or a
// text equal to a rule word could fail to match it.
//
// The pipeline, per rune: NFKC (UAX #15), simple case folding to the smallest
// rune of the case orbit (so k, K and KELVIN SIGN fold together), ß/ẞ → s,
// then drop spaces (Z*), punctuation (P*), symbols (S*), controls (Cc),
// format characters (Cf: U+200B..U+200D, U+2060, U+FEFF, bidi controls,
// soft hyphen) and invalid UTF-8 bytes, which also split the text into
// independently normalised chunks. Collapsing runs of the same rune is done
// by the consumers (see normalizeWord and Filter.Check) because Check has to
// widen the original byte range of the kept rune.

// Rune kinds for the BMP lookup table: the low bits say what normalisation
// does to the rune, the flags cache its NFKC properties.
const (
	kindKeep uint8 = iota // letter, mark, number, ... kept as is
	kindDrop              // separator, punctuation, symbol, control, format
	kindFold              // kept after case folding
	kindMask = 3

	flagBoundary = 1 << 2 // an NFKC segment starts before the rune
	flagDecomp   = 1 << 3 // the rune has an NFKC decomposition
)

// dropTables are the categories removed from both words and text.
var dropTables = []*unicode.RangeTable{unicode.Z, unicode.P, unicode.S, unicode.Cc, unicode.Cf}

// asciiNorm maps an ASCII byte to its normalised rune, or 0 when dropped.
// Built from the same foldRune as everything else so the fast path cannot
// drift from the general one.
var asciiNorm = func() (t [utf8.RuneSelf]uint8) {
	for b := range utf8.RuneSelf {
		if r, keep := classify(rune(b)); keep {
			t[b] = uint8(r)
		}
	}
	return t
}()

// bmpKinds is a 64 KiB table of kinds for U+0000..U+FFFF, built on first use
// (a few milliseconds) so importing the package costs nothing.
var bmpKinds = sync.OnceValue(func() []uint8 {
	t := make([]uint8, 0x10000)
	var buf [utf8.UTFMax]byte
	for r := range rune(0x10000) {
		switch {
		case unicode.In(r, dropTables...) || r == utf8.RuneError:
			t[r] = kindDrop
		case caseFold(r) != r:
			t[r] = kindFold
		}
		p := norm.NFKC.Properties(utf8.AppendRune(buf[:0], r))
		if p.BoundaryBefore() {
			t[r] |= flagBoundary
		}
		if len(p.Decomposition()) > 0 {
			t[r] |= flagDecomp
		}
	}
	return t
})

// classify is the slow, table-free definition of the per-rune step.
func classify(r rune) (rune, bool) {
	if r == utf8.RuneError || unicode.In(r, dropTables...) {
		return 0, false
	}
	return caseFold(r), true
}

// caseFold returns the canonical member of r's simple case-folding orbit:
// the smallest rune in it. ß and ẞ fold to s (full folding gives "ss", which
// run collapsing reduces to "s" anyway).
func caseFold(r rune) rune {
	if r == 'ß' || r == 'ẞ' {
		r = 's'
	}
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	return m
}

// normRune is classify with the lookup tables.
func normRune(r rune, kinds []uint8) (rune, bool) {
	if r < utf8.RuneSelf {
		v := asciiNorm[r]
		return rune(v), v != 0
	}
	if r < 0x10000 {
		switch kinds[r] & kindMask {
		case kindKeep:
			return r, true
		case kindDrop:
			return 0, false
		}
		return caseFold(r), true
	}
	return classify(r)
}

var iterPool = sync.Pool{New: func() any { return new(norm.Iter) }}

// scanner yields the normalised, kept runes of a text together with the byte
// range of the original text each one came from.
//
// Most runes are their own NFKC segment and already normalised: an ASCII
// byte, or a rune without a decomposition, followed by a rune that starts a
// new segment (UAX #15 §9: ccc 0 and not composing with what precedes). Those
// are taken directly. Anything else — full-width forms, ligatures, letters
// with combining marks — is cut out up to the next segment boundary and run
// through a pooled norm.Iter ("hard" segments). Runes of a hard segment that
// changed under NFKC all map to the whole segment; runes of an unchanged one
// map to their own bytes, so a combining mark after a matched letter stays
// outside the match. Invalid UTF-8 bytes are dropped and act as boundaries.
//
// The zero value is ready to use after init; call release when done.
type scanner struct {
	text  string
	pos   int // next byte of text to look at
	kinds []uint8

	// Cached properties of the rune at peekPos (set by boundaryAt).
	peekPos   int
	peekProps norm.Properties

	// Hard segment state: the iterator runs over text[base:hardEnd].
	it       *norm.Iter
	hard     bool
	base     int
	hardEnd  int
	seg      []byte // current NFKC output
	segOff   int    // next byte of seg
	segStart int    // original range of seg
	segEnd   int
	ident    bool   // seg == text[segStart:segEnd]
	acc      []byte // multi-segment decompositions, see fill
}

func (sc *scanner) init(text string) {
	sc.text = text
	sc.peekPos = -1
	sc.kinds = bmpKinds()
}

// release returns the pooled iterator, if any.
func (sc *scanner) release() {
	if sc.it != nil {
		iterPool.Put(sc.it)
		sc.it = nil
	}
}

// props returns the NFKC properties of the (valid, non-ASCII) rune at q.
func (sc *scanner) props(q int) norm.Properties {
	if sc.peekPos != q {
		sc.peekPos, sc.peekProps = q, norm.NFKC.PropertiesString(sc.text[q:])
	}
	return sc.peekProps
}

// boundaryAt reports whether an NFKC segment starts at q (q < len(text)).
func (sc *scanner) boundaryAt(q int) bool {
	b := sc.text[q]
	if b < utf8.RuneSelf {
		return true
	}
	r, n := utf8.DecodeRuneInString(sc.text[q:])
	if r == utf8.RuneError && n == 1 {
		return true // invalid byte: dropped, splits the text
	}
	if r < 0x10000 {
		return sc.kinds[r]&flagBoundary != 0
	}
	return sc.props(q).BoundaryBefore()
}

// next returns the next kept rune and its original byte range [start, end).
func (sc *scanner) next() (r rune, start, end int, ok bool) {
	for {
		if sc.hard {
			if r, start, end, ok := sc.nextHard(); ok {
				return r, start, end, true
			}
			continue
		}
		p := sc.pos
		if p >= len(sc.text) {
			return 0, 0, 0, false
		}
		if b := sc.text[p]; b < utf8.RuneSelf {
			if p+1 == len(sc.text) || sc.text[p+1] < utf8.RuneSelf || sc.boundaryAt(p+1) {
				sc.pos = p + 1
				if v := asciiNorm[b]; v != 0 {
					return rune(v), p, p + 1, true
				}
				continue
			}
			sc.startHard(p)
			continue
		}
		c, n := utf8.DecodeRuneInString(sc.text[p:])
		if c == utf8.RuneError && n == 1 {
			sc.pos = p + 1
			continue
		}
		var simple bool
		if c < 0x10000 {
			simple = sc.kinds[c]&flagDecomp == 0
		} else {
			simple = len(sc.props(p).Decomposition()) == 0
		}
		if simple && (p+n == len(sc.text) || sc.boundaryAt(p+n)) {
			sc.pos = p + n
			if r, keep := normRune(c, sc.kinds); keep {
				return r, p, p + n, true
			}
			continue
		}
		sc.startHard(p)
	}
}

// startHard runs the iterator over the segment(s) from p, a boundary, up to
// the next boundary.
func (sc *scanner) startHard(p int) {
	_, n := utf8.DecodeRuneInString(sc.text[p:])
	q := p + n
	for q < len(sc.text) && !sc.boundaryAt(q) {
		_, n := utf8.DecodeRuneInString(sc.text[q:])
		q += n
	}
	if sc.it == nil {
		sc.it = iterPool.Get().(*norm.Iter)
	}
	sc.it.InitString(norm.NFKC, sc.text[p:q])
	sc.hard, sc.base, sc.hardEnd = true, p, q
	sc.seg, sc.segOff = nil, 0
}

// nextHard returns the next kept rune of the hard segment; !ok when it has
// none left, in which case it has left hard mode.
func (sc *scanner) nextHard() (r rune, start, end int, ok bool) {
	for {
		if sc.segOff < len(sc.seg) {
			c, n := utf8.DecodeRune(sc.seg[sc.segOff:])
			off := sc.segOff
			sc.segOff += n
			r, keep := normRune(c, sc.kinds)
			if !keep {
				continue
			}
			if sc.ident {
				s := sc.segStart + off
				return r, s, s + n, true
			}
			return r, sc.segStart, sc.segEnd, true
		}
		if !sc.fill() {
			sc.hard, sc.pos = false, sc.hardEnd
			return 0, 0, 0, false
		}
	}
}

// fill loads the next NFKC segment; false when the iterator is done.
func (sc *scanner) fill() bool {
	it := sc.it
	if it.Done() {
		return false
	}
	start := it.Pos()
	seg := it.Next()
	if it.Pos() == start && !it.Done() {
		// A character whose decomposition spans several segments: the
		// iterator hands them out before it moves past the source. Gather
		// them so they all map to the source character. (Rare: acc is not
		// backed by an array inside sc, which would move sc to the heap.)
		sc.acc = append(sc.acc[:0], seg...)
		for it.Pos() == start && !it.Done() {
			sc.acc = append(sc.acc, it.Next()...)
		}
		seg = sc.acc
	}
	sc.seg, sc.segOff = seg, 0
	sc.segStart, sc.segEnd = sc.base+start, sc.base+it.Pos()
	sc.ident = string(seg) == sc.text[sc.segStart:sc.segEnd]
	return true
}

// normalizeWord returns the normalised, run-collapsed runes of s.
func normalizeWord(s string) []rune {
	var sc scanner
	sc.init(s)
	defer sc.release()
	var out []rune
	prev := rune(-1)
	for {
		r, _, _, ok := sc.next()
		if !ok {
			return out
		}
		if r != prev {
			out = append(out, r)
			prev = r
		}
	}
}
