package api

import "testing"

func TestClientAddr(t *testing.T) {
	proxies, err := ParseProxies("127.0.0.1, 10.0.0.0/8,::1")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		remote string
		xff    []string
		want   string
	}{
		{"203.0.113.5:4000", nil, "203.0.113.5"},
		// Not from a trusted proxy: the header is the client's word, ignored.
		{"203.0.113.5:4000", []string{"198.51.100.1"}, "203.0.113.5"},
		{"127.0.0.1:5000", []string{"198.51.100.1"}, "198.51.100.1"},
		// The client's own entries come first and are not believed.
		{"127.0.0.1:5000", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		// Through two trusted proxies; headers joined in order.
		{"127.0.0.1:5000", []string{"198.51.100.1", "10.1.2.3"}, "198.51.100.1"},
		{"[::1]:5000", []string{"2001:db8::7"}, "2001:db8::7"},
		// A proxy that sent no header, or garbage: the proxy is the client.
		{"127.0.0.1:5000", nil, "127.0.0.1"},
		{"127.0.0.1:5000", []string{"unknown"}, "127.0.0.1"},
		{"127.0.0.1:5000", []string{"10.0.0.9"}, "10.0.0.9"},
	}
	for _, c := range cases {
		if got := clientAddr(c.remote, c.xff, proxies); got != c.want {
			t.Errorf("clientAddr(%s, %q) = %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
	if got := clientAddr("127.0.0.1:5000", []string{"198.51.100.1"}, nil); got != "127.0.0.1" {
		t.Errorf("no trusted proxies: %s", got)
	}
	for _, bad := range []string{"10.0.0.0/33", "localhost", "1.2.3"} {
		if _, err := ParseProxies(bad); err == nil {
			t.Errorf("ParseProxies(%q) accepted", bad)
		}
	}
}
