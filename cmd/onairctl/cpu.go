package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat: USER_HZ, 100 on
// every Linux architecture (proc(5), sysconf(_SC_CLK_TCK)).
const userHZ = 100

// ownPID is this process: a server found there runs in it (a test).
var ownPID = os.Getpid()

// procCPU returns the CPU time (user and system, its threads included) that
// process pid has used: to the nanosecond from its threads' schedstat where
// the kernel keeps it, else from /proc/<pid>/stat, in steps of 10 ms. Those
// steps were too coarse for the server's CPU while the publisher is alone
// (a 2 s window at 1 % of a core): at 100 viewers they moved the CPU per
// viewer by ±6 %.
func procCPU(pid int) (time.Duration, error) {
	if d, err := schedstatCPU(fmt.Sprintf("/proc/%d/task", pid)); err == nil {
		return d, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseProcStat(b)
}

// schedstatCPU adds up the time on CPU of every thread in the task folder
// of a process: the first field of each thread's schedstat, in ns
// (Documentation/scheduler/sched-stats.rst). A thread that ended is no
// longer counted; a Go server's threads live as long as it does.
func schedstatCPU(taskDir string) (time.Duration, error) {
	tasks, err := os.ReadDir(taskDir)
	if err != nil {
		return 0, err
	}
	var sum time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join(taskDir, t.Name(), "schedstat"))
		if errors.Is(err, os.ErrNotExist) && len(tasks) > 1 {
			continue // the thread ended since the folder was read
		}
		if err != nil {
			return 0, err
		}
		d, err := parseSchedstat(b)
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}

// parseSchedstat reads the time on CPU, the first field of a schedstat.
func parseSchedstat(b []byte) (time.Duration, error) {
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return 0, fmt.Errorf("schedstat: %d fields, want 3", len(f))
	}
	ns, err := strconv.ParseUint(f[0], 10, 63)
	if err != nil {
		return 0, fmt.Errorf("schedstat: %w", err)
	}
	return time.Duration(ns), nil
}

// parseProcStat reads utime and stime, fields 14 and 15 of /proc/<pid>/stat
// (proc(5)). The second field, the command name in parentheses, may hold
// spaces and parentheses itself: the fields are counted from the last ')'.
func parseProcStat(b []byte) (time.Duration, error) {
	end := bytes.LastIndexByte(b, ')')
	if end < 0 {
		return 0, errors.New("/proc stat: no command name")
	}
	// After the name: state (field 3), ... utime (14), stime (15).
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc stat: %d fields after the name, want 13 or more", len(f))
	}
	var ticks uint64
	for _, s := range f[11:13] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc stat: %w", err)
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// listenerPID finds the process listening on TCP port on this machine: the
// socket's inode in /proc/net/tcp or tcp6 (state 0A, LISTEN), then the
// process that holds a descriptor "socket:[inode]". Processes of other users
// cannot be looked into; ok is false when none is found.
func listenerPID(procRoot string, port int) (pid int, ok bool) {
	inodes := map[string]bool{}
	for _, name := range []string{"net/tcp", "net/tcp6"} {
		f, err := os.Open(filepath.Join(procRoot, name))
		if err != nil {
			continue
		}
		for _, inode := range listeningInodes(f, port) {
			inodes[inode] = true
		}
		f.Close()
	}
	if len(inodes) == 0 {
		return 0, false
	}
	dirs, _ := os.ReadDir(procRoot)
	for _, d := range dirs {
		p, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		fds, err := os.ReadDir(filepath.Join(procRoot, d.Name(), "fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join(procRoot, d.Name(), "fd", fd.Name()))
			if err != nil {
				continue
			}
			if inode, ok := strings.CutPrefix(target, "socket:["); ok && inodes[strings.TrimSuffix(inode, "]")] {
				return p, true
			}
		}
	}
	return 0, false
}

// listeningInodes reads a /proc/net/tcp table and returns the inodes of the
// sockets listening on port. A line is "sl local rem st tx:rx tr:when retr
// uid timeout inode ...", local being HEXADDR:HEXPORT.
func listeningInodes(r io.Reader, port int) []string {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[3] != "0A" {
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		if p, err := strconv.ParseUint(hexPort, 16, 16); !ok || err != nil || int(p) != port {
			continue
		}
		out = append(out, f[9])
	}
	return out
}

// cpuSource reads a server's CPU time: from /proc when its pid is known,
// else from the process_cpu_seconds_total of its /metrics.
type cpuSource struct {
	pid     int    // 0: use metrics
	metrics string // the /metrics URL
}

// String says where the figures come from.
func (c cpuSource) String() string {
	if c.pid > 0 {
		return fmt.Sprintf("/proc/%d", c.pid)
	}
	return c.metrics
}

// newCPUSource picks how to read the server's CPU: the pid given, else the
// process listening on a loopback URL's port, else the URL's /metrics.
func newCPUSource(serverURL string, pid int) cpuSource {
	c := cpuSource{pid: pid, metrics: strings.TrimRight(serverURL, "/") + "/metrics"}
	if pid > 0 {
		return c
	}
	host, port, ok := urlHostPort(serverURL)
	if !ok || !isLoopbackHost(host) {
		return c
	}
	if p, found := listenerPID("/proc", port); found {
		c.pid = p
	}
	return c
}

// urlHostPort returns an http(s) URL's host and port, the scheme's default
// when it names none.
func urlHostPort(raw string) (string, int, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" {
		return "", 0, false
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	p, err := strconv.Atoi(port)
	return u.Hostname(), p, err == nil
}

// cpuAt is the CPU a server has used by a moment.
type cpuAt struct {
	cpu time.Duration
	at  time.Time
}

func (c cpuSource) sample(ctx context.Context) (cpuAt, error) {
	if c.pid > 0 {
		d, err := procCPU(c.pid)
		return cpuAt{cpu: d, at: time.Now()}, err
	}
	s, err := scrape(ctx, c.metrics)
	if err != nil {
		return cpuAt{}, err
	}
	return cpuAt{cpu: time.Duration(s.CPUSeconds * float64(time.Second)), at: s.at}, nil
}

// cores is the CPU used between two samples per second of wall time.
func cores(from, to cpuAt) float64 {
	secs := to.at.Sub(from.at).Seconds()
	if secs <= 0 {
		return 0
	}
	return (to.cpu - from.cpu).Seconds() / secs
}
