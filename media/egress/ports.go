package egress

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

var loopback = net.IPv4(127, 0, 0, 1)

// freePorts finds n free port pairs on loopback for RTP: an even port and
// the odd one above it for RTCP (RFC 3550 §11), all bound at once and then
// released for ffmpeg to bind. Another process may take one in between;
// ffmpeg then fails to bind and the job starts it again on new ports.
//
// The ports come from below the kernel's ephemeral range (tapPorts): a port
// the kernel handed a WebRTC peer a moment ago may still be sent SRTP by the
// other side of that peer until its ICE gives up, and ffmpeg would read that
// as a broken stream.
func freePorts(n int) ([]*net.UDPAddr, error) {
	var held []*net.UDPConn
	defer func() {
		for _, c := range held {
			_ = c.Close()
		}
	}()
	lo, hi := tapPorts()
	var out []*net.UDPAddr
	for tries := 0; len(out) < n && tries < 200; tries++ {
		p := lo + 2*rand.IntN((hi-lo)/2)
		a, err := net.ListenUDP("udp4", &net.UDPAddr{IP: loopback, Port: p})
		if err != nil {
			continue
		}
		held = append(held, a)
		b, err := net.ListenUDP("udp4", &net.UDPAddr{IP: loopback, Port: p + 1})
		if err != nil {
			continue
		}
		held = append(held, b)
		out = append(out, &net.UDPAddr{IP: loopback, Port: p})
	}
	if len(out) < n {
		return nil, errors.New("egress: no free even UDP port pair on loopback")
	}
	return out, nil
}

// tapPorts is the even-aligned range taps use: below the kernel's ephemeral
// ports (net.ipv4.ip_local_port_range, 32768 by default) and above the
// well-known and commonly registered ones.
func tapPorts() (lo, hi int) {
	lo, hi = 20000, 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if first, err := strconv.Atoi(f[0]); err == nil && first > 12000 {
				hi = first
				lo = min(lo, first-10000)
			}
		}
	}
	return lo &^ 1, hi &^ 1
}

// waitBound waits, up to a second, until some process has bound UDP port
// (ffmpeg, to read a tap), as /proc/net/udp shows; without /proc it waits
// 300 ms. It stops early when ctx ends or exited has a value (which it puts
// back for the caller).
func waitBound(ctx context.Context, port int, exited chan error) {
	wait := func(d time.Duration) bool {
		select {
		case <-ctx.Done():
			return false
		case err := <-exited:
			exited <- err
			return false
		case <-time.After(d):
			return true
		}
	}
	if _, known := udpBound(port); !known {
		wait(300 * time.Millisecond)
		return
	}
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		if bound, _ := udpBound(port); bound || !wait(20*time.Millisecond) {
			return
		}
	}
}

// udpBound reports whether a UDP socket is bound to port on this host;
// known is false without /proc (not Linux).
func udpBound(port int) (bound, known bool) {
	want := fmt.Sprintf(":%04X", port)
	for _, name := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		known = true
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if fields := strings.Fields(sc.Text()); len(fields) > 1 && strings.HasSuffix(fields[1], want) {
				bound = true
			}
		}
		_ = f.Close()
		if bound {
			return true, true
		}
	}
	return false, known
}
