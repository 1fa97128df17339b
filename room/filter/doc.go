// Package filter is onair's platform word filter for chat: it owns the
// compiled word list, the text normalisation that defeats the usual evasions,
// and the verdict (mask, hold for review, block) with masked output. It knows
// nothing of rooms, storage or HTTP; the caller loads the list, calls
// [Compile], keeps the *Filter in an atomic.Pointer and swaps in a new one
// when the list changes. A Filter is immutable and safe for concurrent use.
//
// # Matching
//
// Rule words and chat text go through the same normaliser, then an
// Aho–Corasick automaton over the normalised runes finds every occurrence of
// every word (Aho & Corasick, "Efficient string matching", CACM 1975).
// Matching is by substring, as Chinese platforms do: "fuck" is found inside
// "motherfuckers". Overlapping matches ("abc" and "bcd" in "abcd") are all
// reported and all masked. The verdict is the strongest action among the
// matches: Block > Review > Mask. Duplicate words (after normalisation) keep
// their strongest action.
//
// # Normalisation
//
// Per character of the text, in order:
//
//  1. NFKC (UAX #15): full-width Ｆｕｃｋ becomes Fuck, ligatures split
//     (ﬁ → fi), ① becomes 1, U+3000 becomes a space.
//  2. Simple case folding (Unicode CaseFolding.txt, via unicode.SimpleFold):
//     every rune maps to one member of its case orbit, so FUCK, Fuck and
//     fuck are equal; ß and ẞ fold like s.
//  3. Dropped: spaces and separators (Z*), punctuation (P*), symbols (S*,
//     emoji included), controls (Cc), format characters (Cf: zero-width
//     U+200B..U+200D, U+2060, U+FEFF, bidi controls, soft hyphen) and invalid
//     UTF-8 bytes. So f.u.c.k, f u c k, f-u-c-k, f\u200buck and 敏，感 词 all
//     match; digits and letters of every script are kept.
//  4. Runs of the same rune collapse to one, in words and text alike
//     (fuuuuck → fuck; the word "scheisse" is stored as "scheise").
//
// Nothing is transliterated: Cyrillic ц is not u, ú is not u (NFKC composes
// the accent onto the letter), 4 is not a. Combining marks left after NFKC
// are kept as letters of their own.
//
// # Offsets and masking
//
// Each normalised rune remembers the byte range of the original text it came
// from (a whole NFKC segment when normalisation changed it, its own bytes
// otherwise; a collapsed run widens the range to the last repeat). A Match's
// Start and End are byte offsets into the original text on UTF-8 sequence
// boundaries, from the first matched letter to the last, so dropped
// characters between the letters are inside the span. Masked replaces every
// rune inside a span by one '*' and keeps every other byte as it was, emoji
// and combining marks included: "f.u.c.k!" masks to "*******!".
//
// # Cost
//
// Check allocates nothing when nothing matches (non-ASCII text borrows a
// pooled NFKC iterator); most runes skip the iterator entirely through
// per-rune NFKC property tables. The automaton uses dense transition rows for
// ASCII classes and sorted edge lists with fail links for the rest.
// BenchmarkCheck measures a 10,000-word list on short chat messages.
package filter
