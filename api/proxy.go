package api

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Behind a load balancer every connection comes from the balancer, so the
// rate limit of anonymous requests, which is per address, would be shared by
// every client, and the audit log would name the balancer. With the
// balancer's addresses listed as trusted (serve --trusted-proxies), the
// client is the nearest address in X-Forwarded-For that is not itself a
// trusted proxy: the header's earlier entries are whatever the client chose
// to send, so they are never believed.

// ParseProxies reads a comma-separated list of addresses and CIDR prefixes.
func ParseProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR prefix (10.0.0.0/8)", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

func trusted(proxies []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddr returns the address a request comes from: its peer, or, when
// the peer is a trusted proxy, the nearest untrusted address it forwarded.
func clientAddr(remote string, forwarded []string, proxies []netip.Prefix) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	if len(proxies) == 0 {
		return host
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !trusted(proxies, peer) {
		return host
	}
	// Several X-Forwarded-For headers are one list, in order.
	var hops []string
	for _, h := range forwarded {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			// A hop no proxy of ours would write: stop believing here.
			return host
		}
		if !trusted(proxies, a) {
			return a.Unmap().String()
		}
		host = a.Unmap().String()
	}
	return host
}
