package fetch

import "net/netip"

// Extra ranges judged internal beyond Go's IsPrivate/IsLoopback/...:
// shared address space, benchmarking, documentation, NAT64 and IPv6 docs.
var extraInternal = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments (reserved)
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network"
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("2001:db8::/32"),  // documentation
	netip.MustParsePrefix("100::/64"),       // discard-only
	netip.MustParsePrefix("2001::/23"),      // IETF protocol assignments
}

// Internal reports whether a is an address the guard refuses: private,
// loopback, link-local, multicast, reserved, unspecified, or one of the
// special ranges of recotem-behavior.md §5.4. IPv4-mapped IPv6 addresses
// are judged as IPv4.
func Internal(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsUnspecified() || a.IsLoopback() || a.IsPrivate() || a.IsMulticast() ||
		a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() {
		return true
	}
	if a == netip.MustParseAddr("255.255.255.255") {
		return true
	}
	for _, p := range extraInternal {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
