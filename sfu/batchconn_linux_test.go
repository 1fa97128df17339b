//go:build linux

package sfu

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

// Packets written to a corked address arrive, whole and in order, when the
// cork is flushed: equal-sized runs in one segmented send each.
func TestCorkedWritesArriveTogether(t *testing.T) {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	uc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	var k corks
	var st counters
	c, err := newBatchConn(uc, &k, &st)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dst := rx.LocalAddr().(*net.UDPAddr).AddrPort()
	var want [][]byte
	for i, n := range []int{1200, 1200, 1200, 1200, 300, 90, 1200, 1200} {
		want = append(want, bytes.Repeat([]byte{byte(i + 1)}, n))
	}
	ck := k.get(dst)
	ck.begin()
	for _, b := range want {
		if n, err := c.WriteToAddrPort(b, dst); err != nil || n != len(b) {
			t.Fatalf("write: %d %v", n, err)
		}
	}
	_ = rx.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	buf := make([]byte, 2000)
	if _, _, err := rx.ReadFromUDPAddrPort(buf); err == nil {
		t.Fatal("a corked packet went out before the flush")
	}
	ck.flush()
	for i, w := range want {
		_ = rx.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, from, err := rx.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if !bytes.Equal(buf[:n], w) || from != uc.LocalAddr().(*net.UDPAddr).AddrPort() {
			t.Fatalf("datagram %d: %d bytes of %d from %v", i, n, buf[0], from)
		}
	}
	if c.gso.Load() && st.batches.Load() != 2 {
		t.Fatalf("%d segmented sends, want 2 (1200×4+300, then 1200×2)", st.batches.Load())
	}
	t.Logf("segmentation offload: %v, segmented sends: %d", c.gso.Load(), st.batches.Load())
	// Uncorked, a write goes out at once.
	if _, err := c.WriteToAddrPort([]byte("now"), dst); err != nil {
		t.Fatal(err)
	}
	_ = rx.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, _, err := rx.ReadFromUDPAddrPort(buf); err != nil || string(buf[:n]) != "now" {
		t.Fatalf("uncorked write: %q %v", buf[:n], err)
	}
	k.drop(dst)
	if _, ok := k.m.Load(netip.AddrPort(dst)); ok {
		t.Fatal("dropped cork still there")
	}
}

// The socket's own reads and writes (raw system calls) behave as
// net.UDPConn's: datagrams both ways with the sender's address, IPv6 too, a
// passed deadline is a timeout (ICE's mux goes on reading after one), and a
// closed socket says net.ErrClosed (the mux stops).
func TestBatchConnReadsAndWrites(t *testing.T) {
	for _, network := range []string{"udp4", "udp6"} {
		ip := net.IPv4(127, 0, 0, 1)
		if network == "udp6" {
			ip = net.IPv6loopback
		}
		uc, err := net.ListenUDP(network, &net.UDPAddr{IP: ip})
		if err != nil {
			if network == "udp6" {
				t.Logf("no IPv6 loopback here: %v", err)
				continue
			}
			t.Fatal(err)
		}
		var k corks
		c, err := newBatchConn(uc, &k, &counters{})
		if err != nil {
			t.Fatal(err)
		}
		peer, err := net.ListenUDP(network, &net.UDPAddr{IP: ip})
		if err != nil {
			t.Fatal(err)
		}
		peerAddr := peer.LocalAddr().(*net.UDPAddr).AddrPort()
		self := c.LocalAddr().(*net.UDPAddr).AddrPort()

		if n, err := c.WriteToAddrPort([]byte("to the peer"), peerAddr); err != nil || n != 11 {
			t.Fatalf("%s: write %d, %v", network, n, err)
		}
		buf := make([]byte, 64)
		_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, from, err := peer.ReadFromUDPAddrPort(buf)
		if err != nil || string(buf[:n]) != "to the peer" || from.Port() != self.Port() {
			t.Fatalf("%s: the peer read %q from %v, %v", network, buf[:n], from, err)
		}

		for _, m := range []string{"first", "second"} {
			if _, err := peer.WriteToUDPAddrPort([]byte(m), self); err != nil {
				t.Fatal(err)
			}
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for _, want := range []string{"first", "second"} {
			n, from, err := c.ReadFromAddrPort(buf)
			if err != nil || string(buf[:n]) != want || from != netip.AddrPortFrom(peerAddr.Addr().Unmap(), peerAddr.Port()) {
				t.Fatalf("%s: read %q from %v (%v), want %q from %v", network, buf[:n], from, err, want, peerAddr)
			}
		}
		// A datagram longer than the buffer is cut, as recvfrom does.
		if _, err := peer.WriteToUDPAddrPort(bytes.Repeat([]byte{'x'}, 100), self); err != nil {
			t.Fatal(err)
		}
		if n, _, err := c.ReadFromAddrPort(buf[:10]); err != nil || n != 10 {
			t.Fatalf("%s: a long datagram read as %d bytes, %v", network, n, err)
		}

		_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		if _, _, err := c.ReadFromAddrPort(buf); !os.IsTimeout(err) {
			t.Fatalf("%s: a read past its deadline returned %v, want a timeout", network, err)
		}
		_ = c.SetReadDeadline(time.Time{})
		done := make(chan error, 1)
		go func() {
			_, _, err := c.ReadFromAddrPort(buf)
			done <- err
		}()
		time.Sleep(20 * time.Millisecond)
		_ = c.Close()
		select {
		case err := <-done:
			if !errors.Is(err, net.ErrClosed) {
				t.Fatalf("%s: a read on a closed socket returned %v, want net.ErrClosed", network, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: a read went on after the socket closed", network)
		}
		if _, err := c.WriteToAddrPort([]byte("late"), peerAddr); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("%s: a write on a closed socket returned %v", network, err)
		}
		_ = peer.Close()
	}
}

// pion writes from many goroutines at once (ICE, DTLS, SCTP, RTCP): each
// write is its own datagram, whole.
func TestBatchConnConcurrentWrites(t *testing.T) {
	uc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	var k corks
	c, err := newBatchConn(uc, &k, &counters{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	peer := listen(t)
	_ = peer.SetReadBuffer(1 << 20)
	dst := peer.LocalAddr().(*net.UDPAddr).AddrPort()
	const writers, each = 8, 50
	done := make(chan struct{})
	for w := range writers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range each {
				b := bytes.Repeat([]byte{byte(w)}, 100+i)
				if _, err := c.WriteToAddrPort(b, dst); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range writers {
		<-done
	}
	buf := make([]byte, 2000)
	for n := range writers * each {
		_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
		m, _, err := peer.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("after %d datagrams: %v", n, err)
		}
		if m < 100 || !bytes.Equal(buf[:m], bytes.Repeat([]byte{buf[0]}, m)) {
			t.Fatalf("datagram %d is mixed or cut: %d bytes", n, m)
		}
	}
}
