//go:build linux

package sfu

import (
	"bytes"
	"net"
	"net/netip"
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
