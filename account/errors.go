package account

import "errors"

// Sentinel errors; the edge maps them to status codes.
var (
	ErrBadName         = errors.New("account: a name is 3 to 32 of a-z, 0-9, _ and -")
	ErrWeakPassword    = errors.New("account: a password needs at least 8 characters")
	ErrNameTaken       = errors.New("account: that name is taken")
	ErrBadCredentials  = errors.New("account: wrong name or password")
	ErrRateLimited     = errors.New("account: too many attempts")
	ErrUnauthenticated = errors.New("account: not logged in")
	ErrTokenInvalid    = errors.New("account: the session token is not valid")
	ErrForbidden       = errors.New("account: not allowed")
	ErrBanned          = errors.New("account: banned")
	ErrNoStreamKey     = errors.New("account: publishing needs a stream key")
	ErrWrongStreamKey  = errors.New("account: this stream key is not valid for this room")
	ErrBusy            = errors.New("account: the server is busy checking passwords; try again in a moment")
)

// RateLimitError says when to try again.
type RateLimitError struct{ RetryAfterSeconds int }

func (e *RateLimitError) Error() string { return ErrRateLimited.Error() }
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }
