package room

import (
	"fmt"

	"github.com/onair-live/onair/room/filter"
)

// WordRule is an entry of the platform word list, as stored and as the admin
// API shows it.
type WordRule struct {
	Word   string `json:"word"`
	Action string `json:"action"` // mask, review, block
}

var wordActions = map[string]filter.Action{"mask": filter.Mask, "review": filter.Review, "block": filter.Block}

// CompileWords turns a word list into a filter; a bad entry is an error naming it.
func CompileWords(rules []WordRule) (*filter.Filter, error) {
	fr := make([]filter.Rule, 0, len(rules))
	for i, r := range rules {
		a, ok := wordActions[r.Action]
		if !ok {
			return nil, fmt.Errorf("%w: entry %d (%q): action %q; use mask, review or block", ErrBadMessage, i+1, r.Word, r.Action)
		}
		fr = append(fr, filter.Rule{Word: r.Word, Action: a})
	}
	f, err := filter.Compile(fr)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadMessage, err)
	}
	return f, nil
}
