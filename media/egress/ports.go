package egress

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

var loopback = net.IPv4(127, 0, 0, 1)

// freePorts finds n free port pairs on loopback for RTP: an even port and
// the odd one above it for RTCP (RFC 3550 §11), all bound at once and then
// released for ffmpeg to bind. Another process may take one in between;
// ffmpeg then fails to bind and the job starts it again on new ports.
func freePorts(n int) ([]*net.UDPAddr, error) {
	var held []*net.UDPConn
	defer func() {
		for _, c := range held {
			_ = c.Close()
		}
	}()
	var out []*net.UDPAddr
	for tries := 0; len(out) < n && tries < 200; tries++ {
		a, err := net.ListenUDP("udp4", &net.UDPAddr{IP: loopback})
		if err != nil {
			return nil, err
		}
		held = append(held, a)
		p := a.LocalAddr().(*net.UDPAddr).Port
		if p%2 != 0 || p+1 > 65535 {
			continue
		}
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
