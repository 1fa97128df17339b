package store

import "errors"

// Sentinel errors. Methods wrap them with %w and context ("store: user \"bob\":
// not found"); test with errors.Is. The edge maps them to HTTP status codes.
var (
	// ErrNotFound: the user, room or broadcast named does not exist (also when
	// a change refers to one that does not, such as following an unknown user).
	ErrNotFound = errors.New("not found")
	// ErrNameTaken: another user already has this name, compared
	// case-insensitively (or a room already has it as its id).
	ErrNameTaken = errors.New("name taken")
	// ErrConflict: the change contradicts the stored state: following yourself,
	// a stream key hash that another user already has, ending a broadcast twice.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: an argument the store cannot keep (empty name, unknown role,
	// negative level or viewer count, empty hash or token id).
	ErrInvalid = errors.New("invalid argument")
)
