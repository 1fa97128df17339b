package egress

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
)

// Resolver looks host names up; net.DefaultResolver satisfies it.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// allowList is Config.RTMPAllow parsed: host names (".example.com" for its
// subdomains) and address prefixes.
type allowList struct {
	names []string
	nets  []netip.Prefix
}

func parseAllowList(entries []string) (allowList, error) {
	var l allowList
	for _, e := range entries {
		e = strings.ToLower(strings.TrimSpace(e))
		if p, err := netip.ParsePrefix(e); err == nil {
			l.nets = append(l.nets, p.Masked())
		} else if a, err := netip.ParseAddr(e); err == nil {
			a = a.Unmap()
			l.nets = append(l.nets, netip.PrefixFrom(a, a.BitLen()))
		} else if validHostname(strings.TrimPrefix(e, ".")) {
			l.names = append(l.names, e)
		} else {
			return allowList{}, fmt.Errorf("%q is not a host name, an IP address or a CIDR prefix", e)
		}
	}
	return l, nil
}

func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func (l allowList) empty() bool { return len(l.names) == 0 && len(l.nets) == 0 }

func (l allowList) nameAllowed(host string) bool {
	for _, n := range l.names {
		if host == n || strings.HasPrefix(n, ".") && strings.HasSuffix(host, n) {
			return true
		}
	}
	return false
}

func (l allowList) addrAllowed(a netip.Addr) bool {
	for _, p := range l.nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// reserved are ranges that are not the public internet although the
// standard library calls them global unicast (RFC 6890 and its updates).
var reserved = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4",
		"64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/32", "2001:db8::/32", "2002::/16",
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// internal says why a is not a public internet address, or "" when it is.
func internal(a netip.Addr) string {
	switch {
	case a.IsUnspecified():
		return "an unspecified address"
	case a.IsLoopback():
		return "a loopback address"
	case a.IsPrivate():
		return "a private address"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return "a link-local address"
	case a.IsMulticast():
		return "a multicast address"
	case !a.IsGlobalUnicast():
		return "not a unicast address"
	}
	for _, p := range reserved {
		if p.Contains(a) {
			return "a reserved address"
		}
	}
	return ""
}

// check decides whether the server may connect to host. A host named on the
// list may have any address; any other host needs every address it resolves
// to be public (and, when the list is not empty, on it). Every address is
// checked, so a name with one public and one internal address is refused.
func (l allowList) check(ctx context.Context, r Resolver, host string) error {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	byName := l.nameAllowed(host)
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		addrs = []netip.Addr{a}
	} else {
		if addrs, err = r.LookupNetIP(ctx, "ip", host); err != nil || len(addrs) == 0 {
			return fmt.Errorf("%w: %s does not resolve to an address (%v)", ErrNotAllowed, host, err)
		}
	}
	for _, a := range addrs {
		a = a.Unmap()
		if byName || l.addrAllowed(a) {
			continue
		}
		if why := internal(a); why != "" {
			return fmt.Errorf("%w: %s is %s (%s); the server pushes only to public hosts unless an admin lists the host in egress.rtmp_allow", ErrNotAllowed, host, why, a)
		}
		if !l.empty() {
			return fmt.Errorf("%w: %s is not on this server's list of restream hosts (egress.rtmp_allow)", ErrNotAllowed, host)
		}
	}
	return nil
}
