//go:build linux

package client

import (
	"bytes"
	"net"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func listenLoopback(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// sendSegmented sends payload as datagrams of size bytes (the last shorter)
// in one system call, the way the SFU sends a frame (UDP_SEGMENT).
func sendSegmented(t *testing.T, from, to *net.UDPConn, payload []byte, size int) {
	t.Helper()
	oob := make([]byte, unix.CmsgSpace(2))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level, h.Type = unix.SOL_UDP, unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	oob[unix.CmsgLen(0)] = byte(size)
	oob[unix.CmsgLen(0)+1] = byte(size >> 8)
	if _, _, err := from.WriteMsgUDP(payload, oob, to.LocalAddr().(*net.UDPAddr)); err != nil {
		t.Fatal(err)
	}
}

func TestGROConnHandsOutEachSegment(t *testing.T) {
	recv := listenLoopback(t)
	arr := &arrivals{}
	g, ok := withGRO(recv, arr).(*groConn)
	if !ok {
		t.Fatal("UDP_GRO was refused by this kernel")
	}
	if g.arr == nil {
		t.Fatal("receive timestamps were refused by this kernel")
	}
	send := listenLoopback(t)
	// Four RTP packets (sequence numbers 7 to 10, SSRC 0x11223344).
	payload := make([]byte, 3*1000+500)
	for i := range payload {
		payload[i] = byte(i / 1000)
	}
	for i := range 4 {
		copy(payload[i*1000:], []byte{0x80, 96, 0, byte(7 + i), 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44})
	}
	before := time.Now().UnixNano()
	sendSegmented(t, send, recv, payload, 1000)

	_ = g.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	var got []byte
	for i, want := range []int{1000, 1000, 1000, 500} {
		n, from, err := g.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Fatalf("read %d: %d bytes, want %d", i, n, want)
		}
		if from.String() != send.LocalAddr().String() {
			t.Fatalf("read %d from %v, want %v", i, from, send.LocalAddr())
		}
		if i == 0 && g.end != len(payload) {
			t.Fatalf("the kernel handed over %d bytes in the first read, want the whole batch of %d", g.end, len(payload))
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.Equal(got, payload) {
		t.Fatal("the segments read back differ from what was sent")
	}
	// Each packet's arrival is the kernel's receive time of the batch.
	after := time.Now().UnixNano()
	for seq := uint16(7); seq <= 10; seq++ {
		if ns := arr.at(0x11223344, seq); ns < before || ns > after {
			t.Fatalf("packet %d arrived at %d, not between %d and %d", seq, ns, before, after)
		}
	}
	if arr.at(0x11223344, 11) != 0 || arr.at(0x55, 7) != 0 {
		t.Fatal("a packet never received has an arrival time")
	}
}

func TestGROConnPlainDatagrams(t *testing.T) {
	recv := listenLoopback(t)
	g, ok := withGRO(recv, nil).(*groConn)
	if !ok {
		t.Fatal("UDP_GRO was refused by this kernel")
	}
	send := listenLoopback(t)
	for _, m := range []string{"one", "second", "3"} {
		if _, err := send.WriteToUDP([]byte(m), recv.LocalAddr().(*net.UDPAddr)); err != nil {
			t.Fatal(err)
		}
	}
	_ = g.SetReadDeadline(time.Now().Add(5 * time.Second))
	for _, want := range []string{"one", "second", "3"} {
		buf := make([]byte, 1500)
		n, _, err := g.ReadFromUDP(buf)
		if err != nil {
			t.Fatal(err)
		}
		if string(buf[:n]) != want {
			t.Fatalf("read %q, want %q", buf[:n], want)
		}
	}
	// A deadline ends a read as on a plain socket.
	_ = g.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, _, err := g.ReadFrom(make([]byte, 1500)); err == nil {
		t.Fatal("a read with nothing sent returned no error")
	}
}

// Multicast sockets (mDNS) are left plain: x/net takes only a *net.UDPConn.
func TestGRONetLeavesMulticastPlain(t *testing.T) {
	n, err := newGRONet(nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := n.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.(*net.UDPConn); !ok {
		t.Fatalf("a multicast socket was wrapped: %T", c)
	}
	u, err := n.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if _, ok := u.(*groConn); !ok {
		t.Fatalf("a unicast socket was not read in batches: %T", u)
	}
}
