//go:build linux

package sfu

import (
	"errors"
	"net"
	"net/netip"
	"sync"
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
	in    receiver
}

func newBatchConn(c *net.UDPConn, k *corks, stats *counters) (*batchConn, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	b := &batchConn{UDPConn: c, raw: raw, corks: k, stats: stats}
	b.in.fn = b.in.recv
	growSendBuffer(raw)
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
		n, from, err := c.in.read(c.raw, b)
		if err != nil {
			return n, from, err
		}
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
	return c.sendOne(dst, b)
}

// sendOne sends one datagram, as a raw system call (segmenter.send says
// why): pion's own writes (STUN, DTLS, SCTP, the publishers' RTCP) come
// hundreds of times a second too. Writers may be many at once, so each
// takes a segmenter from a pool.
func (c *batchConn) sendOne(dst netip.AddrPort, b []byte) (int, error) {
	if len(b) == 0 {
		return c.UDPConn.WriteToUDPAddrPort(b, dst)
	}
	s := segmenters.Get().(*segmenter)
	err := c.sendSegments(s, dst, b, 0)
	s.iov.Base = nil // the pool keeps no caller's buffer alive
	segmenters.Put(s)
	if err != nil {
		return 0, err
	}
	return len(b), nil
}

var segmenters = sync.Pool{New: func() any { return new(segmenter) }}

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
	eachRun(sizes, func(off, n, size, count int) {
		if count > 1 && c.gso.Load() {
			err := c.sendSegments(s, dst, buf[off:off+n], size)
			if err == nil {
				c.stats.batches.Add(1)
				return
			}
			if cannotSegment(err) {
				c.gso.Store(false) // this socket's path cannot segment: one by one from now on
			}
		}
		for end := off + n; off < end; off += size {
			_ = c.sendSegments(s, dst, buf[off:min(off+size, end)], 0)
		}
	})
}

// cannotSegment: err is the kernel refusing UDP_SEGMENT on the socket's path.
func cannotSegment(err error) bool {
	return errors.Is(err, unix.EIO) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOPROTOOPT)
}

// sendBuffer is what the SFU's sockets ask for as their send buffer: a
// fan-out's chunk of viewers (fanout.go) can be a third of a megabyte of
// video in one sendmmsg, and on a NIC the buffer is held until the packets
// leave; the kernel's default (208 KiB) would make it wait part way.
const sendBuffer = 4 << 20

// growSendBuffer raises the socket's send buffer to sendBuffer: past the
// system's limit (net.core.wmem_max) where the process may (CAP_NET_ADMIN),
// else up to it.
func growSendBuffer(raw syscall.RawConn) {
	_ = raw.Control(func(fd uintptr) {
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, sendBuffer) != nil {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, sendBuffer)
		}
	})
}

// sendSegments sends b to dst as datagrams of size bytes (the last one
// shorter), cut by the kernel (UDP_SEGMENT); with size 0, as one datagram.
func (c *batchConn) sendSegments(s *segmenter, dst netip.AddrPort, b []byte, size int) error {
	s.prepare(dst, b, size)
	if err := c.send(s.ctl, &s.done, s.fn); err != nil {
		return err
	}
	return s.err
}

// send has the socket call ctl, which sets *done unless the socket's buffer
// is full, and then, only if it was, waits to call fn until fn is done.
// Sends go through raw.Control first because raw.Write takes the
// descriptor's write lock (Go's poller lets one writer at a time wait on
// it), and the fan-outs of several cores send through the same socket, a
// UDP send needing no lock of ours: through Write alone, two cores sending a
// large room's frame used 1.1 of them.
func (c *batchConn) send(ctl func(fd uintptr), done *bool, fn func(fd uintptr) bool) error {
	*done = false
	if err := c.raw.Control(ctl); err != nil {
		return err
	}
	if *done {
		return nil
	}
	return c.raw.Write(fn)
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
	ctl  func(fd uintptr) // control, for batchConn.send
	done bool             // control sent it
}

// prepare sets the message up to send b to dst in segments of size bytes.
func (s *segmenter) prepare(dst netip.AddrPort, b []byte, size int) {
	s.msg.Namelen = putSockaddr(&s.name, dst)
	s.msg.Name = (*byte)(unsafe.Pointer(&s.name))
	s.iov.Base = &b[0]
	s.iov.SetLen(len(b))
	s.msg.Iov = &s.iov
	s.msg.SetIovlen(1)
	if size == 0 {
		s.msg.Control = nil
		s.msg.SetControllen(0)
	} else {
		putSegmentSize(&s.oob, size)
		s.msg.Control = &s.oob[0]
		s.msg.SetControllen(unix.CmsgSpace(2))
	}
	if s.fn == nil {
		s.fn, s.ctl = s.send, s.control
	}
}

// send is what the socket calls (through fn, made once: a method value
// passed on each call would be made each time); false asks it to wait
// until it can write.
//
// The socket is non-blocking, so sendmsg returns at once (EAGAIN when its
// buffer is full) and is made as a raw system call: the scheduler is not
// told, as it is of a call that may block. Told, it wakes its monitor
// thread whenever the process had been idle, and the monitor then polls
// every 20 µs for a millisecond, handing the P of a call it finds under way
// to another thread. An SFU idles between packets hundreds of times a
// second: with all its socket calls raw (this, receiver.recv, sendOne), at
// 100 viewers on one core its thread switches fell from about 3,000 to 700
// a second, the monitor's wakeups from 1,500 to 80, and its CPU per viewer
// by a quarter.
func (s *segmenter) send(fd uintptr) bool {
	_, _, e := unix.RawSyscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&s.msg)), 0)
	for e == unix.EINTR {
		_, _, e = unix.RawSyscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&s.msg)), 0)
	}
	if e == unix.EAGAIN {
		return false
	}
	s.err = nil
	if e != 0 {
		s.err = e
	}
	return true
}

func (s *segmenter) control(fd uintptr) { s.done = s.send(fd) }

// receiver is a socket's non-blocking recvfrom, made as a raw system call
// for the reason segmenter.send gives: an SFU's reads (publishers' media,
// viewers' RTCP) come hundreds of times a second.
type receiver struct {
	mu      sync.Mutex // guards what follows: ICE's mux reads from one goroutine, but may not forever
	buf     []byte
	from    unix.RawSockaddrInet6 // room for either family
	fromLen uint32
	n       int
	err     error
	fn      func(fd uintptr) bool
}

// read receives one datagram into b; a closed socket or a passed deadline
// return the errors net.UDPConn's reads do (net.ErrClosed, a timeout).
func (r *receiver) read(raw syscall.RawConn, b []byte) (int, netip.AddrPort, error) {
	if len(b) == 0 {
		return 0, netip.AddrPort{}, errors.New("read into an empty buffer")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = b
	err := raw.Read(r.fn)
	r.buf = nil
	if err == nil {
		err = r.err
	}
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	return r.n, r.source(), nil
}

// recv is what the socket calls with its descriptor; false asks it to wait
// until it can read.
func (r *receiver) recv(fd uintptr) bool {
	for {
		r.fromLen = unix.SizeofSockaddrInet6
		n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&r.buf[0])), uintptr(len(r.buf)), 0,
			uintptr(unsafe.Pointer(&r.from)), uintptr(unsafe.Pointer(&r.fromLen)))
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		case 0:
			r.n, r.err = int(n), nil
		default:
			r.n, r.err = 0, e
		}
		return true
	}
}

// source is the sender's address, IPv4 unmapped.
func (r *receiver) source() netip.AddrPort { return sockaddrPort(&r.from) }

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
