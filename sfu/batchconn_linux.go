//go:build linux

package sfu

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/pion/ice/v4"
	"golang.org/x/sys/unix"
)

// wireSupported: viewers go on the SFU's own write path here (wire.go).
const wireSupported = true

// batchConn is one of the SFU's UDP sockets: what pion's ICE mux reads and
// writes, holding writes to corked addresses.
type batchConn struct {
	*net.UDPConn
	raw   syscall.RawConn
	corks *corks
	gso   atomic.Bool // the kernel takes UDP_SEGMENT here
	stats *counters
}

func newBatchConn(c *net.UDPConn, k *corks, stats *counters) (*batchConn, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	b := &batchConn{UDPConn: c, raw: raw, corks: k, stats: stats}
	b.gso.Store(true)
	k.sources.Store(c.LocalAddr().(*net.UDPAddr).AddrPort(), batchSender(b))
	return b, nil
}

// ReadFromAddrPort and WriteToAddrPort are what pion's ICE mux uses
// (ice.AddrPortReaderWriter).
// A viewer's address learns its socket from what arrives on it too, so the
// wire can send as soon as ICE picks the address (cork.saw); the RTCP of a
// viewer on the wire is handled here and not passed on (rtcpin.go).
func (c *batchConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	for {
		n, from, err := c.UDPConn.ReadFromUDPAddrPort(b)
		if err != nil {
			return n, from, err
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if v, ok := c.corks.m.Load(from); ok {
			k := v.(*cork)
			k.saw(c)
			if in := k.in.Load(); in != nil && in.take(b[:n]) {
				continue
			}
		}
		return n, from, err
	}
}

func (c *batchConn) WriteToAddrPort(b []byte, dst netip.AddrPort) (int, error) {
	if v, ok := c.corks.m.Load(dst); ok {
		k := v.(*cork)
		k.saw(c)
		if k.hold(c, b) {
			return len(b), nil
		}
	}
	return c.UDPConn.WriteToUDPAddrPort(b, dst)
}

// sendOne sends one datagram.
func (c *batchConn) sendOne(dst netip.AddrPort, b []byte) {
	_, _ = c.UDPConn.WriteToUDPAddrPort(b, dst)
}

// WriteTo keeps net.PacketConn's path through the cork too.
func (c *batchConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if u, ok := addr.(*net.UDPAddr); ok {
		return c.WriteToAddrPort(b, u.AddrPort())
	}
	return c.UDPConn.WriteTo(b, addr)
}

// sendBatch sends the datagrams held in buf (sizes in order): runs of equal
// size (the last of a run may be shorter) in one segmented sendmsg each,
// made in s (its sender's own, so sending allocates nothing).
func (c *batchConn) sendBatch(s *segmenter, dst netip.AddrPort, buf []byte, sizes []int) {
	off := 0
	for i := 0; i < len(sizes); {
		j, n := i+1, sizes[i]
		for j < len(sizes) && sizes[j-1] == sizes[i] && sizes[j] <= sizes[i] {
			n += sizes[j]
			j++
		}
		if j-i > 1 && c.gso.Load() {
			if err := c.sendSegments(s, dst, buf[off:off+n], sizes[i]); err == nil {
				c.stats.batches.Add(1)
				off += n
				i = j
				continue
			} else if errors.Is(err, unix.EIO) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOPROTOOPT) {
				c.gso.Store(false) // this socket's path cannot segment: one by one from now on
			}
		}
		for ; i < j; i++ {
			_, _ = c.UDPConn.WriteToUDPAddrPort(buf[off:off+sizes[i]], dst)
			off += sizes[i]
		}
	}
}

// sendSegments sends b to dst as datagrams of size bytes (the last one
// shorter), cut by the kernel (UDP_SEGMENT).
func (c *batchConn) sendSegments(s *segmenter, dst netip.AddrPort, b []byte, size int) error {
	s.prepare(dst, b, size)
	if err := c.raw.Write(s.fn); err != nil {
		return err
	}
	return s.err
}

// segmenter is one sender's segmented sendmsg: the message, its address,
// its control data and the function the socket calls with its descriptor,
// all made once, so a send allocates nothing. One sender uses it at a time.
type segmenter struct {
	msg  unix.Msghdr
	iov  unix.Iovec
	name unix.RawSockaddrInet6 // room for either family
	oob  [unix.SizeofCmsghdr + 8]byte
	err  error
	fn   func(fd uintptr) bool
}

// prepare sets the message up to send b to dst in segments of size bytes.
func (s *segmenter) prepare(dst netip.AddrPort, b []byte, size int) {
	s.name = unix.RawSockaddrInet6{}
	if a := dst.Addr(); a.Is4() || a.Is4In6() {
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&s.name))
		sa.Family = unix.AF_INET
		sa.Addr = a.Unmap().As4()
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], dst.Port())
		s.msg.Namelen = unix.SizeofSockaddrInet4
	} else {
		s.name.Family = unix.AF_INET6
		s.name.Addr = a.As16()
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&s.name.Port))[:], dst.Port())
		s.msg.Namelen = unix.SizeofSockaddrInet6
	}
	s.msg.Name = (*byte)(unsafe.Pointer(&s.name))
	s.iov.Base = &b[0]
	s.iov.SetLen(len(b))
	s.msg.Iov = &s.iov
	s.msg.SetIovlen(1)
	h := (*unix.Cmsghdr)(unsafe.Pointer(&s.oob[0]))
	h.Level, h.Type = unix.SOL_UDP, unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(s.oob[unix.CmsgLen(0):], uint16(size))
	s.msg.Control = &s.oob[0]
	s.msg.SetControllen(unix.CmsgSpace(2))
	if s.fn == nil {
		s.fn = s.send
	}
}

// send is what the socket calls (through fn, made once: a method value
// passed on each call would be made each time); false asks it to wait
// until it can write.
func (s *segmenter) send(fd uintptr) bool {
	_, _, e := unix.Syscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&s.msg)), 0)
	if e == unix.EAGAIN {
		return false
	}
	s.err = nil
	if e != 0 {
		s.err = e
	}
	return true
}

// newUDPMux opens the shared ICE port on every IPv4 address of the
// machine's interfaces that are up (loopback alone when loopbackOnly), each
// a batchConn, as ice.NewMultiUDPMuxFromPort would with plain sockets.
func newUDPMux(port int, loopbackOnly bool, k *corks, stats *counters) (*ice.MultiUDPMuxDefault, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var conns []*batchConn
	fail := func(err error) (*ice.MultiUDPMuxDefault, error) {
		for _, c := range conns {
			_ = c.Close()
		}
		return nil, err
	}
	for _, ifc := range ifaces {
		loop := ifc.Flags&net.FlagLoopback != 0
		if ifc.Flags&net.FlagUp == 0 || loop != loopbackOnly {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.To4() == nil {
				continue
			}
			uc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: ipn.IP, Port: port})
			if err != nil {
				return fail(err)
			}
			bc, err := newBatchConn(uc, k, stats)
			if err != nil {
				_ = uc.Close()
				return fail(err)
			}
			conns = append(conns, bc)
		}
	}
	if len(conns) == 0 {
		return nil, errors.New("no IPv4 address to listen on")
	}
	muxes := make([]ice.UDPMux, len(conns))
	for i, c := range conns {
		muxes[i] = ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: c})
	}
	return ice.NewMultiUDPMuxDefault(muxes...), nil
}
