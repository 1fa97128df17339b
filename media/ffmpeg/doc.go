// Package ffmpeg runs ffmpeg and ffprobe for onair's media jobs.
//
// Outside commands are data: a job builds its argument list with a function
// (golden-tested with ffmpegtest.Golden) and hands it to [Start] or [Run],
// which execute the binary directly with exec.CommandContext, never through a
// shell. Each run gets its own process group, so when its context ends the
// whole group is stopped (at once, or after an interrupt that lets ffmpeg
// finish its output: see [Cmd.Interrupt]), never an orphaned encoder.
//
// stderr is captured, bounded (the last [StderrTail] bytes are kept), and a
// failed run returns an [*ExitError] whose message is ffmpeg's own last words,
// cleaned of memory addresses and the server's folders, e.g.
//
//	ffprobe failed (exit status 1): in.amr: Invalid data found when processing input
//
// Long-running jobs (egress) read stderr line by line as it comes with
// [Cmd.OnStderr], for progress and warnings.
//
// [Tools.Probe] reads a local file's format, duration and streams through
// ffprobe's JSON output, with only the file protocol allowed so that a
// crafted input (a playlist naming URLs or other files) cannot make ffprobe
// read anything else.
package ffmpeg
