package sfu

import "errors"

// Sentinel errors; the edge maps them to status codes in one table.
var (
	ErrBadOffer        = errors.New("sfu: the SDP offer is not usable")
	ErrNoCommonCodec   = errors.New("sfu: no codec in common")
	ErrNotLive         = errors.New("sfu: nothing is live in this room")
	ErrStageFull       = errors.New("sfu: the stage is full")
	ErrSessionNotFound = errors.New("sfu: no such session")
	ErrBadCandidate    = errors.New("sfu: the ICE fragment is not usable")
	ErrClosed          = errors.New("sfu: closed")
	ErrBadLayer        = errors.New("sfu: no such layer")
)
