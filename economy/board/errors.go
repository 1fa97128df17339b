package board

import "errors"

// Sentinel errors; they are wrapped with the details.
var (
	ErrBadCredit  = errors.New("board: bad credit")
	ErrBadBoard   = errors.New("board: bad board")
	ErrScoreLimit = errors.New("board: score would pass 2^53, the exact-integer limit of a board")
	ErrBadConfig  = errors.New("board: bad config")
)
