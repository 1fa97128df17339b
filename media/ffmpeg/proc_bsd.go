//go:build unix && !linux

package ffmpeg

import (
	"os/exec"
	"syscall"
)

// ownGroup makes the process the leader of a new process group, so that
// stopping it reaches anything it started too.
func ownGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }
