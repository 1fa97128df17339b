//go:build !linux

package client

import (
	"errors"

	"github.com/pion/transport/v5"
)

const groSupported = false

func newGRONet(*arrivals) (transport.Net, error) {
	return nil, errors.New("onair: UDP_GRO needs Linux")
}
