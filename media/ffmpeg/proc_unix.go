//go:build unix

package ffmpeg

import (
	"os"
	"os/exec"
	"syscall"
)

// ownGroup makes the process the leader of a new process group, so that
// stopping it reaches anything it started too.
func ownGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// killGroup sends SIGKILL to the process group led by p.
func killGroup(p *os.Process) error { return syscall.Kill(-p.Pid, syscall.SIGKILL) }

// interruptGroup sends SIGINT to the process group led by p: ffmpeg stops
// reading and finishes its output.
func interruptGroup(p *os.Process) error { return syscall.Kill(-p.Pid, syscall.SIGINT) }
