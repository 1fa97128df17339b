//go:build linux

package ffmpeg

import (
	"os/exec"
	"syscall"
)

// ownGroup makes the process the leader of a new process group, so that
// stopping it reaches anything it started too; and has the kernel kill it
// if the server dies first (SIGKILL leaves no time to stop it), so no
// encoder outlives its server. The kernel ties that to the thread that
// started the process; Go keeps its threads unless a goroutine exits locked
// to one, which onair never does.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
