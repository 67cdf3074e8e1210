package live

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/wangge/wangge/data"
)

// AllowList is where webhooks may send: the deployment's admin names the
// hosts (a name, an IP or a CIDR prefix, each with or without a port), so
// that a webhook cannot be pointed at the services around wangge (SSRF).
// The check runs when a webhook is stored and again on every connection,
// on the address actually dialled, so a name that resolves elsewhere later
// (DNS rebinding) reaches nothing it should not.
type AllowList struct {
	entries []allowEntry
}

type allowEntry struct {
	name   string       // a host name, lower case; "" for an address entry
	prefix netip.Prefix // an IP (as /32 or /128) or a CIDR prefix
	port   int          // 0: any port
}

// ParseAllowList reads a comma-separated list: hooks.example.cn,
// hooks.example.cn:8443, 10.1.2.3, 10.1.0.0/16, 127.0.0.1:9000,
// [::1]:9000. An empty list allows nothing.
func ParseAllowList(s string) (*AllowList, error) {
	al := &AllowList{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		e, err := parseAllowEntry(item)
		if err != nil {
			return nil, data.Errorf(data.EINVALID, "webhook allow-list entry %q: %v", item, err)
		}
		al.entries = append(al.entries, e)
	}
	return al, nil
}

func parseAllowEntry(item string) (allowEntry, error) {
	if p, err := netip.ParsePrefix(item); err == nil {
		return allowEntry{prefix: p.Masked()}, nil
	}
	host, port := item, 0
	if h, ps, err := net.SplitHostPort(item); err == nil {
		n, err := strconv.Atoi(ps)
		if err != nil || n < 1 || n > 65535 {
			return allowEntry{}, fmt.Errorf("port %q: want 1–65535", ps)
		}
		host, port = h, n
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return allowEntry{prefix: netip.PrefixFrom(a, a.BitLen()), port: port}, nil
	}
	if host == "" || strings.ContainsAny(host, "/[]@ ") {
		return allowEntry{}, fmt.Errorf("want a host name, an IP or a CIDR prefix, with an optional :port")
	}
	return allowEntry{name: strings.ToLower(strings.TrimSuffix(host, ".")), port: port}, nil
}

// Len returns the number of entries; 0 for a nil list.
func (al *AllowList) Len() int {
	if al == nil {
		return 0
	}
	return len(al.entries)
}

// String lists the entries as ParseAllowList reads them.
func (al *AllowList) String() string {
	var out []string
	for _, e := range al.entries {
		s := e.name
		if s == "" {
			s = e.prefix.String()
			if e.prefix.IsSingleIP() {
				s = e.prefix.Addr().String()
			}
		}
		if e.port != 0 {
			s = net.JoinHostPort(s, strconv.Itoa(e.port))
		}
		out = append(out, s)
	}
	return strings.Join(out, ",")
}

func (e allowEntry) portOK(port int) bool { return e.port == 0 || e.port == port }

// allowsName reports whether host (a name, as the URL has it) is allowed
// by name on port.
func (al *AllowList) allowsName(host string, port int) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, e := range al.entries {
		if e.name != "" && e.name == host && e.portOK(port) {
			return true
		}
	}
	return false
}

// allowsAddr reports whether a is allowed by address on port.
func (al *AllowList) allowsAddr(a netip.Addr, port int) bool {
	a = a.Unmap()
	for _, e := range al.entries {
		if e.name == "" && e.prefix.Contains(a) && e.portOK(port) {
			return true
		}
	}
	return false
}

// CheckURL reports why a webhook may not send to rawURL, naming the
// allow-list; nil when it may. A name not allowed by name must resolve to
// allowed addresses only.
func (al *AllowList) CheckURL(ctx context.Context, rawURL string) error {
	host, port, err := hostPort(rawURL)
	if err != nil {
		return err
	}
	if al.allowsName(host, port) {
		return nil
	}
	addrs, err := resolve(ctx, host)
	if err != nil {
		return data.FieldError(data.EINVALID, "url", "webhook url %q: host %s does not resolve: %v", rawURL, host, err)
	}
	for _, a := range addrs {
		if !al.allowsAddr(a, port) {
			return data.FieldError(data.EINVALID, "url", "webhook url %q: %s is not in the webhook allow-list (%s); the admin sets it with --webhook-allow",
				rawURL, net.JoinHostPort(a.String(), strconv.Itoa(port)), al.describe())
		}
	}
	return nil
}

func (al *AllowList) describe() string {
	if len(al.entries) == 0 {
		return "empty: no webhook may send anywhere"
	}
	return al.String()
}

func hostPort(rawURL string) (string, int, error) {
	u, err := parseHookURL(rawURL)
	if err != nil {
		return "", 0, err
	}
	port := 80
	if u.Scheme == "https" {
		port = 443
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return "", 0, data.FieldError(data.EINVALID, "url", "webhook url %q: bad port", rawURL)
		}
	}
	return u.Hostname(), port, nil
}

func resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// client returns the HTTP client deliveries go through: no proxy from the
// environment, no redirects (a 3xx is a failed delivery: following one
// would leave the allow-list), and a dialer that connects only to allowed
// addresses.
func (al *AllowList) client(timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, ps, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			port, _ := strconv.Atoi(ps)
			addrs, err := resolve(ctx, host)
			if err != nil {
				return nil, err
			}
			byName := al.allowsName(host, port)
			for _, a := range addrs {
				if byName || al.allowsAddr(a, port) {
					return d.DialContext(ctx, network, net.JoinHostPort(a.String(), ps))
				}
			}
			return nil, fmt.Errorf("%s is not in the webhook allow-list", addr)
		},
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
