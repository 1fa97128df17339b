//go:build unix

package ffmpeg

import (
	"os"
	"syscall"
)

// killGroup sends SIGKILL to the process group led by p.
func killGroup(p *os.Process) error { return syscall.Kill(-p.Pid, syscall.SIGKILL) }

// interruptGroup sends SIGINT to the process group led by p: ffmpeg stops
// reading and finishes its output.
func interruptGroup(p *os.Process) error { return syscall.Kill(-p.Pid, syscall.SIGINT) }
