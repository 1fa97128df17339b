package main

import (
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		line string
		want time.Duration
		ok   bool
	}{
		// pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
		{"1234 (onair) S 1 1234 1234 0 -1 4194560 5000 0 0 0 250 130 0 0 20 0 12 0 100 0 0", 3800 * time.Millisecond, true},
		// A name with spaces and a ')' in it.
		{"77 (a) b (c)) R 1 77 77 0 -1 0 1 0 0 0 7 3 0 0 20 0 1 0 5 0 0", 100 * time.Millisecond, true},
		{"77 (short) R 1 2 3", 0, false},
		{"no name at all", 0, false},
		{"77 (x) R 1 77 77 0 -1 0 1 0 0 0 seven 3 0", 0, false},
	}
	for _, tt := range tests {
		got, err := parseProcStat([]byte(tt.line))
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseProcStat(%q) = %v, %v; want %v, ok %v", tt.line, got, err, tt.want, tt.ok)
		}
	}
}

// The CPU read from /proc for this test's own process agrees with getrusage.
func TestProcCPUOwnProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	rusage := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	burn := func(d time.Duration) { // d of CPU, however busy the machine is
		for end := rusage() + d; rusage() < end; {
		}
	}
	burn(50 * time.Millisecond)
	before, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	burn(200 * time.Millisecond)
	after, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	now := rusage()
	if after-before < 150*time.Millisecond {
		t.Errorf("200 ms of spinning counted as %v", after-before)
	}
	// getrusage is read a little later.
	if d := now - after; d < -20*time.Millisecond || d > 100*time.Millisecond {
		t.Errorf("/proc says %v, getrusage %v", after, now)
	}
	if _, err := procCPU(1 << 30); err == nil {
		t.Error("procCPU of a pid that cannot exist succeeded")
	}
}

func TestParseSchedstat(t *testing.T) {
	if d, err := parseSchedstat([]byte("123456789 5000 42\n")); err != nil || d != 123456789 {
		t.Errorf("got %v, %v", d, err)
	}
	for _, bad := range []string{"", "1 2", "x 2 3", "-5 2 3"} {
		if _, err := parseSchedstat([]byte(bad)); err == nil {
			t.Errorf("parseSchedstat(%q) succeeded", bad)
		}
	}
}

// The threads' schedstat of this process add up to what getrusage says, to
// well under the 10 ms steps of /proc/<pid>/stat.
func TestSchedstatCPUOwnProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skip("no /proc")
	}
	if _, err := os.Stat("/proc/self/schedstat"); err != nil {
		t.Skip("this kernel keeps no schedstat (CONFIG_SCHED_INFO)")
	}
	var ru syscall.Rusage
	before := func() time.Duration {
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}()
	got, err := schedstatCPU(fmt.Sprintf("/proc/%d/task", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	after := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	// getrusage splits the same total by ticks, in µs; allow for that and
	// for threads that ended.
	if got < before-5*time.Millisecond || got > after+5*time.Millisecond {
		t.Errorf("schedstat says %v; getrusage %v before and %v after", got, before, after)
	}
}

func TestListeningInodes(t *testing.T) {
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 4343 1 0000000000000000 20 4 30 10 -1
   2: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0000000000000000 100 0 0 10 0
`
	if got := listeningInodes(strings.NewReader(table), 8080); len(got) != 1 || got[0] != "4242" {
		t.Errorf("port 8080: %v, want the listener's inode 4242 only", got)
	}
	if got := listeningInodes(strings.NewReader(table), 80); len(got) != 1 || got[0] != "99" {
		t.Errorf("port 80: %v", got)
	}
	if got := listeningInodes(strings.NewReader(table), 81); len(got) != 0 {
		t.Errorf("port 81: %v", got)
	}
}

// A listener of this process is found by its port, and a loopback URL on
// that port reads the CPU from /proc.
func TestListenerPID(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	if pid, ok := listenerPID("/proc", port); !ok || pid != os.Getpid() {
		t.Errorf("listenerPID(%d) = %d, %v; want this process, %d", port, pid, ok, os.Getpid())
	}
	src := newCPUSource(fmt.Sprintf("http://127.0.0.1:%d", port), 0)
	if src.pid != os.Getpid() {
		t.Errorf("CPU source %v, want /proc of this process", src)
	}
	ln.Close()
	if _, ok := listenerPID("/proc", port); ok {
		t.Errorf("a closed listener's port %d still has a pid", port)
	}
	if src := newCPUSource("http://127.0.0.1:1/", 0); src.pid != 0 || src.String() != "http://127.0.0.1:1/metrics" {
		t.Errorf("no listener: source %v", src)
	}
	if src := newCPUSource("http://example.com:8080", 42); src.pid != 42 {
		t.Errorf("--server-pid 42: source %v", src)
	}
}

func TestCores(t *testing.T) {
	t0 := time.Now()
	from := cpuAt{cpu: time.Second, at: t0}
	to := cpuAt{cpu: 2500 * time.Millisecond, at: t0.Add(3 * time.Second)}
	if c := cores(from, to); c != 0.5 {
		t.Errorf("1.5 s of CPU in 3 s = %v cores, want 0.5", c)
	}
	if c := cores(from, from); c != 0 {
		t.Errorf("no time: %v cores", c)
	}
}
