package ffmpeg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// StderrTail is how much of a run's stderr is kept for its error: the last
// bytes, where ffmpeg says why it stopped.
const StderrTail = 16 << 10

// waitGrace bounds how long Wait waits, after the process group was told to
// stop, for the process to exit and its output pipes to close.
const waitGrace = 5 * time.Second

// Cmd is one run of ffmpeg or ffprobe, described as data.
type Cmd struct {
	// Path is the executable (Tools.FFmpeg or Tools.FFprobe).
	Path string
	Args []string
	// Stdin and Stdout, when set, are connected to the process; otherwise
	// stdin reads nothing and stdout is discarded.
	Stdin  io.Reader
	Stdout io.Writer
	// OnStderr, when set, gets each line the process writes to stderr as it
	// comes (ffmpeg ends progress lines with \r, which also ends a line here).
	// It runs on the goroutine that copies stderr: keep it short.
	OnStderr func(line string)
	// Interrupt, when positive, is how long the process group has between
	// SIGINT and SIGKILL once the context ends: ffmpeg uses it to finish its
	// output (an MP4's index, a playlist's last entry). Zero kills at once.
	Interrupt time.Duration
}

// ExitError is a run that failed: the tool exited with a non-zero status or
// was killed by a signal.
type ExitError struct {
	Tool   string   // base name of the executable, e.g. "ffmpeg"
	Args   []string // the arguments it ran with
	Code   int      // exit status; -1 when a signal ended it
	Stderr string   // the last StderrTail bytes of its stderr
}

func (e *ExitError) Error() string {
	status := fmt.Sprintf("exit status %d", e.Code)
	if e.Code < 0 {
		status = "killed by a signal"
	}
	if r := e.Reason(); r != "" {
		return fmt.Sprintf("%s failed (%s): %s", e.Tool, status, r)
	}
	return fmt.Sprintf("%s failed (%s)", e.Tool, status)
}

// addr matches the "[amrnb @ 0x55d1c0a3e9c0] " prefix of libav log lines.
var addr = regexp.MustCompile(`\[([\w:.-]+) @ 0x[0-9a-fA-F]+\] `)

// Reason is what the tool said last, for a person: up to three distinct
// non-empty lines of stderr, joined by "; ", with memory addresses removed and
// every file argument shortened to its base name (the server's folders are
// nobody else's business); URLs stay whole.
func (e *ExitError) Reason() string { return reason(e.Stderr, e.Args) }

func reason(stderr string, args []string) string {
	var paths []string
	for _, a := range args {
		// Local paths only: a URL (rtmp://host/app) is shown as it is.
		if p := strings.TrimPrefix(a, "file:"); strings.ContainsRune(p, filepath.Separator) && !strings.Contains(p, "://") {
			paths = append(paths, a, p)
		}
	}
	// The longest first, so "file:/x/in" goes before "/x/in".
	for i := 1; i < len(paths); i++ {
		for j := i; j > 0 && len(paths[j]) > len(paths[j-1]); j-- {
			paths[j], paths[j-1] = paths[j-1], paths[j]
		}
	}
	lines := strings.FieldsFunc(stderr, func(r rune) bool { return r == '\n' || r == '\r' })
	var out []string
	for i := len(lines) - 1; i >= 0 && len(out) < 3; i-- {
		l := strings.TrimSpace(addr.ReplaceAllString(lines[i], "$1: "))
		for _, p := range paths {
			l = strings.ReplaceAll(l, p, filepath.Base(strings.TrimPrefix(p, "file:")))
		}
		if l == "" || (len(out) > 0 && out[0] == l) {
			continue
		}
		out = append([]string{l}, out...)
	}
	return strings.Join(out, "; ")
}

// Process is a started run. Wait must be called once to release it.
type Process struct {
	cmd    *exec.Cmd
	ctx    context.Context
	stderr *stderrWriter
	mu     sync.Mutex
	kill   *time.Timer // the SIGKILL that follows an interrupt
	exited bool
}

// Start starts c in its own process group. When ctx ends, the group is
// interrupted or killed (see Cmd.Interrupt) and Wait returns an error wrapping
// ctx's error.
func Start(ctx context.Context, c Cmd) (*Process, error) {
	if c.Path == "" {
		return nil, fmt.Errorf("%w: no executable given", ErrNotFound)
	}
	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	p := &Process{cmd: cmd, ctx: ctx, stderr: &stderrWriter{onLine: c.OnStderr}}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Stdin, c.Stdout, p.stderr
	ownGroup(cmd)
	cmd.Cancel = func() error {
		if c.Interrupt <= 0 {
			return killGroup(cmd.Process)
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.exited {
			p.kill = time.AfterFunc(c.Interrupt, func() {
				p.mu.Lock()
				defer p.mu.Unlock()
				if !p.exited { // never signal a group id that may be reused
					_ = killGroup(cmd.Process)
				}
			})
		}
		return interruptGroup(cmd.Process)
	}
	cmd.WaitDelay = c.Interrupt + waitGrace
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(c.Path), err)
	}
	return p, nil
}

// Pid is the process id, which is also its process group id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Wait waits for the process to exit and its output to be copied. It returns
// nil after a zero exit status, an error wrapping the context's error when the
// context ended the run, else an *ExitError.
func (p *Process) Wait() error {
	err := p.cmd.Wait()
	p.mu.Lock()
	p.exited = true
	if p.kill != nil {
		p.kill.Stop()
	}
	p.mu.Unlock()
	tool := filepath.Base(p.cmd.Path)
	if err == nil {
		return nil
	}
	if cerr := p.ctx.Err(); cerr != nil {
		return fmt.Errorf("%s stopped: %w", tool, cerr)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &ExitError{Tool: tool, Args: p.cmd.Args[1:], Code: ee.ExitCode(), Stderr: p.stderr.String()}
	}
	return fmt.Errorf("%s: %w", tool, err)
}

// Stderr is what the process has written to stderr so far (the last
// StderrTail bytes).
func (p *Process) Stderr() string { return p.stderr.String() }

// Run starts c and waits for it.
func Run(ctx context.Context, c Cmd) error {
	p, err := Start(ctx, c)
	if err != nil {
		return err
	}
	return p.Wait()
}

// stderrWriter keeps the tail of stderr and hands complete lines to onLine.
type stderrWriter struct {
	mu     sync.Mutex
	tail   []byte
	line   []byte
	onLine func(string)
}

func (w *stderrWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.tail = append(w.tail, b...)
	if len(w.tail) > 2*StderrTail { // trim in chunks, not on every write
		w.tail = append(w.tail[:0], w.tail[len(w.tail)-StderrTail:]...)
	}
	if w.onLine != nil {
		for _, c := range b {
			if c == '\n' || c == '\r' {
				if len(w.line) > 0 {
					w.onLine(string(w.line))
					w.line = w.line[:0]
				}
				continue
			}
			if len(w.line) < StderrTail { // a line without end is cut, not grown forever
				w.line = append(w.line, c)
			}
		}
	}
	return len(b), nil
}

func (w *stderrWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.tail
	if len(t) > StderrTail {
		t = t[len(t)-StderrTail:]
		if i := bytes.IndexByte(t, '\n'); i >= 0 && i < len(t)-1 { // start at a whole line
			t = t[i+1:]
		}
	}
	return string(t)
}
