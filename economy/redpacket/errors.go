package redpacket

import (
	"errors"
	"fmt"
)

// Refusals a person reads as they are: each error's text is the sentence to
// show. Test with errors.Is. A create with too few coins is refused with the
// ledger's own economy.ErrInsufficientFunds ("Not enough coins: 500 needed,
// you have 120"), and a client key used before for another packet with
// economy.ErrKeyReused.
var (
	ErrNotFound       = errors.New("There is no such red packet")
	ErrEmpty          = errors.New("This red packet is empty")
	ErrAlreadyGrabbed = errors.New("You already grabbed this one")
	ErrExpired        = errors.New("This red packet expired")
	// ErrInvalid is a request to correct (amounts, shares, the key); the
	// error's text says what to change.
	ErrInvalid = errors.New("Invalid red packet")
)

// invalid is an ErrInvalid whose text is only the sentence.
type invalid struct{ msg string }

func (e *invalid) Error() string        { return e.msg }
func (e *invalid) Is(target error) bool { return target == ErrInvalid }

func invalidf(format string, args ...any) error {
	return &invalid{msg: fmt.Sprintf(format, args...)}
}
