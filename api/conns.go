package api

import (
	"fmt"
	"net"
	"sync"
	"time"
)

// DefaultConnsPerAddr is how many connections one client address may hold
// open at once unless configured: far more than a browser opens (six a
// host) or a field app needs, far fewer than a process's file limit, so
// one client's idle connections cannot lock the others out.
const DefaultConnsPerAddr = 128

// LimitListener returns ln with at most perAddr connections open from any
// one remote address; perAddr ≤ 0 means no limit. A connection over the
// limit is answered 503 with Retry-After and closed at once. Behind a
// proxy every client shares the proxy's address: raise the limit there,
// or leave it to the proxy's own.
func LimitListener(ln net.Listener, perAddr int) net.Listener {
	if perAddr <= 0 {
		return ln
	}
	return &limitListener{Listener: ln, max: perAddr, open: map[string]int{}}
}

type limitListener struct {
	net.Listener
	max  int
	mu   sync.Mutex
	open map[string]int
}

// tooMany is the body of the answer to a connection over the limit.
const tooMany = `{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"too many connections from this address"}`

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host, _, err := net.SplitHostPort(c.RemoteAddr().String())
		if err != nil {
			host = c.RemoteAddr().String()
		}
		l.mu.Lock()
		if l.open[host] >= l.max {
			l.mu.Unlock()
			// A client that does not read must not hold the accept loop.
			c.SetWriteDeadline(time.Now().Add(time.Second))
			fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/problem+json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(tooMany), tooMany)
			c.Close()
			continue
		}
		l.open[host]++
		l.mu.Unlock()
		return &limitedConn{Conn: c, l: l, host: host}, nil
	}
}

type limitedConn struct {
	net.Conn
	l    *limitListener
	host string
	once sync.Once
}

func (c *limitedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		if c.l.open[c.host]--; c.l.open[c.host] <= 0 {
			delete(c.l.open, c.host)
		}
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}
