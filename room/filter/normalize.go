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

// Rune kinds for the BMP lookup table.
const (
	kindKeep uint8 = iota // letter, mark, number, ... kept as is
	kindDrop              // separator, punctuation, symbol, control, format
	kindFold              // kept after case folding
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
	for r := range rune(0x10000) {
		switch {
		case unicode.In(r, dropTables...) || r == utf8.RuneError:
			t[r] = kindDrop
		case caseFold(r) != r:
			t[r] = kindFold
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
		switch kinds[r] {
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
// range of the original text each one came from. Runes produced by an NFKC
// segment that changed under normalisation all map to the whole segment;
// runes of an unchanged segment map to their own bytes, so a combining mark
// after a matched letter stays outside the match.
//
// The zero value is not usable; call init, and release when done.
type scanner struct {
	text string
	pos  int // ASCII mode: next byte of text

	// Unicode mode, entered at the first non-ASCII byte (or ASCII byte
	// followed by one) and kept to the end of the text. In this mode pos is
	// the end of the chunk of valid UTF-8 the iterator is working on.
	it       *norm.Iter
	kinds    []uint8
	base     int    // start of that chunk
	seg      []byte // current NFKC segment output
	segOff   int    // next byte of seg
	segStart int    // original range of seg
	segEnd   int
	ident    bool   // seg == text[segStart:segEnd]
	acc      []byte // multi-segment decompositions, see fill
}

func (sc *scanner) init(text string) { sc.text = text }

// release returns the pooled iterator, if any.
func (sc *scanner) release() {
	if sc.it != nil {
		iterPool.Put(sc.it)
		sc.it = nil
	}
}

// next returns the next kept rune and its original byte range [start, end).
func (sc *scanner) next() (r rune, start, end int, ok bool) {
	for sc.it == nil {
		// ASCII fast path. A boundary for NFKC lies before every ASCII
		// byte, so an ASCII byte followed by another ASCII byte (or the
		// end) is its own segment and normalises to itself.
		p := sc.pos
		if p >= len(sc.text) {
			return 0, 0, 0, false
		}
		b := sc.text[p]
		if b >= utf8.RuneSelf || (p+1 < len(sc.text) && sc.text[p+1] >= utf8.RuneSelf) {
			sc.startUnicode()
			break
		}
		sc.pos = p + 1
		if v := asciiNorm[b]; v != 0 {
			return rune(v), p, p + 1, true
		}
	}
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
			return 0, 0, 0, false
		}
	}
}

// startUnicode switches to the NFKC iterator from sc.pos, a segment boundary.
func (sc *scanner) startUnicode() {
	sc.kinds = bmpKinds()
	sc.it = iterPool.Get().(*norm.Iter)
	sc.startChunk()
}

// startChunk points the iterator at the valid UTF-8 from sc.pos up to the
// next invalid byte. Invalid bytes are dropped and are NFKC boundaries, so
// the normaliser never sees them and segments never straddle them.
func (sc *scanner) startChunk() {
	end := sc.pos
	for end < len(sc.text) {
		if sc.text[end] < utf8.RuneSelf {
			end++
			continue
		}
		r, n := utf8.DecodeRuneInString(sc.text[end:])
		if r == utf8.RuneError && n == 1 {
			break
		}
		end += n
	}
	sc.base = sc.pos
	sc.pos = end
	sc.it.InitString(norm.NFKC, sc.text[sc.base:end])
}

// fill loads the next NFKC segment; false at the end of the text.
func (sc *scanner) fill() bool {
	it := sc.it
	for it.Done() {
		// Skip the invalid bytes ending this chunk, then start the next.
		for sc.pos < len(sc.text) {
			r, n := utf8.DecodeRuneInString(sc.text[sc.pos:])
			if r != utf8.RuneError || n != 1 {
				break
			}
			sc.pos++
		}
		if sc.pos >= len(sc.text) {
			return false
		}
		sc.startChunk()
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
