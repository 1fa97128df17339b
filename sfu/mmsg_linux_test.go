//go:build linux

package sfu

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"
)

// One sendmmsg takes several viewers' batches: each arrives whole and in
// order; a message the kernel refuses (an IPv6 address on an IPv4 socket)
// is skipped and the ones after it still go.
func TestMessagesSkipARefusedOne(t *testing.T) {
	s := sfuSocket(t)
	rx1, rx2 := listen(t), listen(t)
	m := newMessages(s.conn)
	if m == nil {
		t.Fatal("no messages for the SFU's socket")
	}
	frame := func(fill byte, sizes ...int) ([]byte, [][]byte) {
		var buf []byte
		var each [][]byte
		for i, n := range sizes {
			b := bytes.Repeat([]byte{fill + byte(i)}, n)
			buf = append(buf, b...)
			each = append(each, b)
		}
		return buf, each
	}
	sizes1 := []int{1200, 1200, 1200, 700}
	buf1, want1 := frame(10, sizes1...)
	sizes2 := []int{1200, 1200, 90, 500} // two runs: 1200, 1200, 90 and 500
	buf2, want2 := frame(50, sizes2...)
	if !m.addBatch(rx1.LocalAddr().(*net.UDPAddr).AddrPort(), buf1, sizes1) {
		t.Fatal("the first batch did not fit")
	}
	m.add(netip.MustParseAddrPort("[2001:db8::1]:5000"), []byte("refused"), 0)
	if !m.addBatch(rx2.LocalAddr().(*net.UDPAddr).AddrPort(), buf2, sizes2) {
		t.Fatal("the second batch did not fit")
	}
	m.send()
	if m.n != 0 {
		t.Fatalf("%d messages left after the send", m.n)
	}
	for _, c := range []struct {
		rx   *net.UDPConn
		want [][]byte
	}{{rx1, want1}, {rx2, want2}} {
		buf := make([]byte, 2000)
		for i, w := range c.want {
			_ = c.rx.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, _, err := c.rx.ReadFromUDPAddrPort(buf)
			if err != nil {
				t.Fatalf("datagram %d: %v", i, err)
			}
			if !bytes.Equal(buf[:n], w) {
				t.Fatalf("datagram %d: %d bytes of %d, want %d of %d", i, n, buf[0], len(w), w[0])
			}
		}
	}
	if !s.conn.gso.Load() {
		t.Log("this kernel does not segment: the batches went datagram by datagram")
	}
}

// A batch that does not fit in what is left is refused whole.
func TestMessagesFull(t *testing.T) {
	s := sfuSocket(t)
	m := newMessages(s.conn)
	dst := listen(t).LocalAddr().(*net.UDPAddr).AddrPort()
	for range maxMessages - 1 {
		m.add(dst, []byte("x"), 0)
	}
	s.conn.gso.Store(false) // every datagram a message of its own
	if m.addBatch(dst, make([]byte, 200), []int{100, 100}) {
		t.Fatal("two datagrams fitted in one message's room")
	}
	if m.n != maxMessages-1 {
		t.Fatalf("%d messages after a refused batch", m.n)
	}
	if !m.addBatch(dst, make([]byte, 100), []int{100}) || m.n != maxMessages {
		t.Fatal("the last message did not fit")
	}
	m.send()
}
