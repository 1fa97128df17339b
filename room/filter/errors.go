package filter

import "errors"

// Sentinel errors returned (wrapped with the offending rule) by [Compile].
var (
	// ErrEmptyWord means a rule's word has no letters left after normalisation,
	// e.g. "", "  " or "!!!". Such a rule would match everything or nothing.
	ErrEmptyWord = errors.New("filter: word is empty after normalisation")
	// ErrInvalidAction means a rule's Action is not Mask, Review or Block.
	ErrInvalidAction = errors.New("filter: invalid action")
)
