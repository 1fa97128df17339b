//go:build !unix

package ffmpeg

import (
	"os"
	"os/exec"
)

// Without process groups only the process itself is stopped.

func ownGroup(*exec.Cmd) {}

func killGroup(p *os.Process) error { return p.Kill() }

func interruptGroup(p *os.Process) error { return p.Signal(os.Interrupt) }
