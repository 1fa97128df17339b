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
	return b, nil
}

// ReadFromAddrPort and WriteToAddrPort are what pion's ICE mux uses
// (ice.AddrPortReaderWriter).
func (c *batchConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	return c.UDPConn.ReadFromUDPAddrPort(b)
}

func (c *batchConn) WriteToAddrPort(b []byte, dst netip.AddrPort) (int, error) {
	if k, ok := c.corks.m.Load(dst); ok && k.(*cork).hold(c, b) {
		return len(b), nil
	}
	return c.UDPConn.WriteToUDPAddrPort(b, dst)
}

// WriteTo keeps net.PacketConn's path through the cork too.
func (c *batchConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if u, ok := addr.(*net.UDPAddr); ok {
		return c.WriteToAddrPort(b, u.AddrPort())
	}
	return c.UDPConn.WriteTo(b, addr)
}

// sendBatch sends the datagrams held in buf (sizes in order): runs of equal
// size (the last of a run may be shorter) in one segmented sendmsg each.
func (c *batchConn) sendBatch(dst netip.AddrPort, buf []byte, sizes []int) {
	off := 0
	for i := 0; i < len(sizes); {
		j, n := i+1, sizes[i]
		for j < len(sizes) && sizes[j-1] == sizes[i] && sizes[j] <= sizes[i] {
			n += sizes[j]
			j++
		}
		if j-i > 1 && c.gso.Load() {
			if err := c.sendSegments(dst, buf[off:off+n], sizes[i]); err == nil {
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
func (c *batchConn) sendSegments(dst netip.AddrPort, b []byte, size int) error {
	var oob [unix.SizeofCmsghdr + 8]byte
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level, h.Type = unix.SOL_UDP, unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(oob[unix.CmsgLen(0):], uint16(size))
	sa := sockaddr(dst)
	var sendErr error
	err := c.raw.Write(func(fd uintptr) bool {
		_, sendErr = unix.SendmsgN(int(fd), b, oob[:unix.CmsgSpace(2)], sa, 0)
		return !errors.Is(sendErr, unix.EAGAIN)
	})
	if err != nil {
		return err
	}
	return sendErr
}

func sockaddr(a netip.AddrPort) unix.Sockaddr {
	if a.Addr().Is4() || a.Addr().Is4In6() {
		return &unix.SockaddrInet4{Port: int(a.Port()), Addr: a.Addr().Unmap().As4()}
	}
	return &unix.SockaddrInet6{Port: int(a.Port()), Addr: a.Addr().As16()}
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
