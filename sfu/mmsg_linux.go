//go:build linux

package sfu

import (
	"encoding/binary"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxMessages bounds the messages of one sendmmsg. A wire holds at most
// maxBatch datagrams between sends, so a viewer's batch always fits in
// messages just sent.
const maxMessages = 128

var _ = [maxMessages - maxBatch]struct{}{} // maxBatch ≤ maxMessages

// messages are the datagrams a fan-out sends through one socket in one
// sendmmsg (Linux 3.0): a message per viewer and run of equal-sized
// packets, segmented by the kernel (UDP_SEGMENT) as sendBatch's are. All
// made once, so a send allocates nothing; one fan-out uses them at a time.
type messages struct {
	conn  *batchConn
	n     int
	hdrs  [maxMessages]unix.Mmsghdr
	iovs  [maxMessages]unix.Iovec
	names [maxMessages]unix.RawSockaddrInet6
	oobs  [maxMessages][unix.SizeofCmsghdr + 8]byte
	// what the socket's call resumes from, and the message it failed on
	off, failed int
	err         error
	fn          func(fd uintptr) bool
	ctl         func(fd uintptr) // control, for batchConn.send
	done        bool
}

// add queues b for dst, cut by the kernel into datagrams of size bytes (0:
// one datagram).
func (m *messages) add(dst netip.AddrPort, b []byte, size int) {
	i := m.n
	m.n++
	h := &m.hdrs[i].Hdr
	h.Namelen = putSockaddr(&m.names[i], dst)
	h.Name = (*byte)(unsafe.Pointer(&m.names[i]))
	m.iovs[i].Base = &b[0]
	m.iovs[i].SetLen(len(b))
	h.Iov = &m.iovs[i]
	h.SetIovlen(1)
	if size == 0 {
		h.Control = nil
		h.SetControllen(0)
		return
	}
	putSegmentSize(&m.oobs[i], size)
	h.Control = &m.oobs[i][0]
	h.SetControllen(unix.CmsgSpace(2))
}

// addBatch queues the datagrams held in buf (sizes in order) for dst: runs
// of equal size (the last of a run may be shorter) as one segmented message
// each when the socket segments, else a message per datagram. False when
// they did not all fit; none was queued then.
func (m *messages) addBatch(dst netip.AddrPort, buf []byte, sizes []int) bool {
	gso := m.conn.gso.Load()
	need := len(sizes)
	if gso {
		need = 0
		eachRun(sizes, func(int, int, int, int) { need++ })
	}
	if m.n+need > maxMessages {
		return false
	}
	eachRun(sizes, func(off, n, size, count int) {
		if gso && count > 1 {
			m.add(dst, buf[off:off+n], size)
			return
		}
		for end := off + n; off < end; off += size {
			m.add(dst, buf[off:min(off+size, end)], 0)
		}
	})
	return true
}

// eachRun calls fn for every run of sizes: datagrams of equal size, the
// last of a run possibly shorter, n bytes from off in all, count of them.
func eachRun(sizes []int, fn func(off, n, size, count int)) {
	off := 0
	for i := 0; i < len(sizes); {
		j, n := i+1, sizes[i]
		for j < len(sizes) && sizes[j-1] == sizes[i] && sizes[j] <= sizes[i] {
			n += sizes[j]
			j++
		}
		fn(off, n, sizes[i], j-i)
		off += n
		i = j
	}
}

// send sends the queued messages and forgets them. A message the kernel
// refuses is skipped (as sendBatch skips a datagram: the viewer's NACK
// asks for it again); one it refuses to segment goes again datagram by
// datagram, and the socket segments no more.
//
// When the socket's buffer is full it waits for room, holding up the
// fan-out: every viewer it serves shares the socket, so none of them could
// be sent to meanwhile, and skipping them would only turn into NACKs.
func (m *messages) send() {
	if m.n == 0 {
		return
	}
	if m.fn == nil {
		m.fn, m.ctl = m.call, m.control
	}
	segmented := 0
	for i := range m.n {
		if m.hdrs[i].Hdr.Control != nil {
			segmented++
		}
	}
	m.off = 0
	for m.off < m.n {
		m.failed = -1
		if err := m.conn.send(m.ctl, &m.done, m.fn); err != nil {
			break // the socket is closed
		}
		if m.failed < 0 {
			break
		}
		i := m.failed
		h := &m.hdrs[i].Hdr
		if h.Control != nil {
			segmented--
		}
		if h.Control != nil && cannotSegment(m.err) {
			m.conn.gso.Store(false)
			size := int(binary.NativeEndian.Uint16(m.oobs[i][unix.CmsgLen(0):]))
			b := unsafe.Slice(m.iovs[i].Base, m.iovs[i].Len)
			dst := sockaddrPort(&m.names[i])
			for off := 0; off < len(b); off += size {
				_, _ = m.conn.sendOne(dst, b[off:min(off+size, len(b))])
			}
		}
		m.off = i + 1
	}
	m.conn.stats.batches.Add(uint64(segmented))
	for i := range m.n {
		m.iovs[i].Base = nil // keep no viewer's ring alive
	}
	m.n = 0
}

// call is what the socket calls with its descriptor, as a raw system call
// (segmenter.send says why): sendmmsg from the first message not yet sent.
// It returns at once when the socket's buffer is full (false: wait until
// it can write) and when a message is refused (failed is its index).
func (m *messages) call(fd uintptr) bool {
	for m.off < m.n {
		k, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&m.hdrs[m.off])), uintptr(m.n-m.off), 0, 0, 0)
		switch e {
		case 0:
			m.off += int(k)
		case unix.EINTR:
		case unix.EAGAIN:
			return false
		default:
			m.failed, m.err = m.off, e
			return true
		}
	}
	return true
}

func (m *messages) control(fd uintptr) { m.done = m.call(fd) }

// putSockaddr writes dst into sa and returns its length.
func putSockaddr(sa *unix.RawSockaddrInet6, dst netip.AddrPort) uint32 {
	*sa = unix.RawSockaddrInet6{}
	if a := dst.Addr(); a.Is4() || a.Is4In6() {
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		sa4.Family = unix.AF_INET
		sa4.Addr = a.Unmap().As4()
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:], dst.Port())
		return unix.SizeofSockaddrInet4
	}
	sa.Family = unix.AF_INET6
	sa.Addr = dst.Addr().As16()
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], dst.Port())
	return unix.SizeofSockaddrInet6
}

// sockaddrPort reads an address putSockaddr wrote (or the kernel did).
func sockaddrPort(sa *unix.RawSockaddrInet6) netip.AddrPort {
	if sa.Family == unix.AF_INET {
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa4.Port))[:]))
	}
	port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
	return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port)
}

// putSegmentSize writes the UDP_SEGMENT control message for size into oob.
func putSegmentSize(oob *[unix.SizeofCmsghdr + 8]byte, size int) {
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level, h.Type = unix.SOL_UDP, unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(oob[unix.CmsgLen(0):], uint16(size))
}

// newMessages are messages through c, when it is one of the SFU's sockets.
func newMessages(c batchSender) *messages {
	if bc, ok := c.(*batchConn); ok {
		return &messages{conn: bc}
	}
	return nil
}
