//go:build linux

package client

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"sync"
	"unsafe"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"golang.org/x/sys/unix"
)

// groSupported: UDP_GRO exists here (Linux 5.0).
const groSupported = true

// groNet opens ICE's UDP sockets with UDP_GRO on, so that a sender's burst of
// equal-sized datagrams (an SFU's GSO send of a video frame) arrives in one
// read instead of one per packet, and with receive timestamps, recorded in
// arr. Everything else is the standard network.
type groNet struct {
	*stdnet.Net
	arr *arrivals
}

func newGRONet(arr *arrivals) (transport.Net, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, err
	}
	return groNet{Net: n, arr: arr}, nil
}

// ListenUDP wraps unicast sockets only: a multicast one (mDNS) is handed to
// x/net's ipv4/ipv6 packet conns, which take nothing but a *net.UDPConn.
func (n groNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	if laddr == nil || laddr.IP.IsMulticast() || laddr.Port == mdnsPort {
		return c, nil
	}
	return withGRO(c, n.arr), nil
}

// mdnsPort is multicast DNS's (RFC 6762), whose sockets ICE may open on an
// unspecified address.
const mdnsPort = 5353

func (n groNet) ListenPacket(network, address string) (net.PacketConn, error) {
	if !strings.HasPrefix(network, "udp") {
		return n.Net.ListenPacket(network, address)
	}
	laddr, err := net.ResolveUDPAddr(network, address)
	if err != nil {
		return nil, err
	}
	return n.ListenUDP(network, laddr)
}

// withGRO turns UDP_GRO on, and receive timestamps when arr is not nil; a
// kernel that refuses GRO keeps the plain socket.
func withGRO(c *net.UDPConn, arr *arrivals) transport.UDPConn {
	raw, err := c.SyscallConn()
	if err != nil {
		return c
	}
	var serr, terr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_UDP, unix.UDP_GRO, 1)
		if serr == nil && arr != nil {
			terr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
		}
	}); err != nil || serr != nil {
		return c
	}
	if terr != nil {
		arr = nil
	}
	return &groConn{UDPConn: c, arr: arr}
}

// groOOBSize holds the control messages asked for (UDP_GRO, SCM_TIMESTAMPNS)
// with room to spare.
const groOOBSize = 128

// groBufferSize holds the largest coalesced read: 64 KiB of UDP payload.
const groBufferSize = 1 << 16

// groConn hands a coalesced read out one datagram at a time: each read
// returns the next segment, all from the same sender. Every read method goes
// through it, so nothing sees a coalesced buffer.
type groConn struct {
	*net.UDPConn

	arr *arrivals // nil: no timestamps

	mu             sync.Mutex // guards what follows: pion reads from one goroutine, but a conn may be shared
	buf, oob       []byte
	off, end, size int
	from           netip.AddrPort
	ns             int64 // when the kernel received the read, Unix ns; 0 unknown
}

func (c *groConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf == nil {
		c.buf, c.oob = make([]byte, groBufferSize), make([]byte, groOOBSize)
	}
	for c.off >= c.end {
		n, oobn, flags, from, err := c.UDPConn.ReadMsgUDPAddrPort(c.buf, c.oob)
		if err != nil {
			return 0, from, err
		}
		if flags&unix.MSG_CTRUNC != 0 {
			// Without its segment size a batch would pass as one datagram.
			continue
		}
		c.off, c.end, c.from = 0, n, from
		c.size, c.ns = readControl(c.oob[:oobn], n)
	}
	seg := min(c.size, c.end-c.off)
	n := copy(p, c.buf[c.off:c.off+seg])
	if c.arr != nil && c.ns != 0 {
		c.arr.saw(c.buf[c.off:c.off+seg], c.ns)
	}
	c.off += seg
	return n, c.from, nil
}

// readControl reads a read's control messages: the UDP_GRO segment size
// (that of every segment but the last, which may be shorter; without one the
// read is one datagram) and the receive timestamp (0 without one).
func readControl(oob []byte, n int) (size int, ns int64) {
	size = n
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return size, 0
	}
	for _, m := range msgs {
		switch {
		case m.Header.Level == unix.SOL_UDP && m.Header.Type == unix.UDP_GRO && len(m.Data) >= 4:
			if s := int(binary.NativeEndian.Uint32(m.Data)); s > 0 {
				size = s
			}
		case m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= sizeofTimespec:
			ts := (*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
			ns = ts.Nano()
		}
	}
	return size, ns
}

func (c *groConn) ReadFromUDPAddrPort(p []byte) (int, netip.AddrPort, error) {
	return c.ReadFromAddrPort(p)
}

func (c *groConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, from, err := c.ReadFromAddrPort(p)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

func (c *groConn) ReadFromUDP(p []byte) (int, *net.UDPAddr, error) {
	n, from, err := c.ReadFromAddrPort(p)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

func (c *groConn) Read(p []byte) (int, error) {
	n, _, err := c.ReadFromAddrPort(p)
	return n, err
}

// ReadMsgUDP and ReadMsgUDPAddrPort return segments too; the kernel's control
// messages are the coalesced read's, so none are passed on.
func (c *groConn) ReadMsgUDP(p, oob []byte) (int, int, int, *net.UDPAddr, error) {
	n, from, err := c.ReadFromUDP(p)
	return n, 0, 0, from, err
}

func (c *groConn) ReadMsgUDPAddrPort(p, oob []byte) (int, int, int, netip.AddrPort, error) {
	n, from, err := c.ReadFromAddrPort(p)
	return n, 0, 0, from, err
}

// sizeofTimespec is the SCM_TIMESTAMPNS payload: a struct timespec.
const sizeofTimespec = int(unsafe.Sizeof(unix.Timespec{}))
