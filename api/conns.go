package api

import (
	"errors"
	"fmt"
	"net"
	"os"
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

// limitedConn is a connection counted against its address's limit. It
// also sets its deadlines lazily. net/http moves a connection's read
// deadline three times a request (idle, header and whole-request timeouts)
// and its write deadline twice, and each move is a timer change in the
// runtime under the descriptor's lock: a few per cent of the CPU of an
// answer from memory (docs/BENCHMARKS.md, issue 20). Here a deadline asked
// for is recorded, and the socket's own (armed) deadline moves only when
// it must fire sooner than it would; an armed deadline earlier than the
// one asked for makes a Read or Write fail with a timeout, which is then
// retried under the deadline asked for. Callers see exactly the deadlines
// they set: none fires early, none late.
type limitedConn struct {
	net.Conn
	l    *limitListener
	host string
	once sync.Once

	mu     sync.Mutex
	rd, wd deadline
}

// deadline is one direction's deadline: the one asked for and the one the
// socket has. The clock is read only where it must be: on this machine a
// reading costs about as much as moving the socket's deadline.
type deadline struct {
	want, armed time.Time // zero: none
	// at is the clock when armed was last set from it: an armed deadline
	// before at is known to have passed without reading the clock again.
	at time.Time
	// short is the shortest deadline asked for, from the time it was
	// asked: a deadline armed this far ahead (net/http's header timeout)
	// serves the longer ones that follow it without another move.
	short time.Duration
}

// set records t as the deadline asked for and returns the deadline the
// socket must have, with ok false when it may keep the one it has.
func (d *deadline) set(t time.Time, clock func() time.Time) (arm time.Time, ok bool) {
	d.want = t
	passed := !d.armed.IsZero() && d.armed.Before(d.at)
	switch {
	case t.IsZero():
		if !passed {
			// No deadline: one armed later only costs a retry, if it fires.
			return time.Time{}, false
		}
		// After net/http ended a read with a past deadline: armed ahead
		// for the deadlines of the next request.
		now := clock()
		d.at = now
		if d.short > 0 {
			return now.Add(d.short), true
		}
		return time.Time{}, true
	case !d.armed.IsZero() && !passed && !d.armed.After(t):
		return time.Time{}, false // the armed one fires first, and not yet
	case t.Before(d.at):
		// Passed already (net/http ends its background read so): at once.
		return t, true
	}
	now := clock()
	d.at = now
	if !t.After(now) {
		return t, true
	}
	if left := t.Sub(now); d.short == 0 || left < d.short {
		d.short = left
	}
	// Armed ahead as far as the shortest deadline asked for, so that the
	// longer ones that follow need no move.
	if ahead := now.Add(d.short); ahead.Before(t) {
		return ahead, true
	}
	return t, true
}

// expired reports whether a timeout of the armed deadline is the one
// asked for; if not, it returns the deadline to arm before trying again.
func (d *deadline) expired() (arm time.Time, retry bool) {
	if !d.want.IsZero() && d.want.Before(d.at) {
		// Known to have passed without the clock: net/http's end of its
		// background read, once a request.
		return time.Time{}, false
	}
	now := time.Now()
	if !d.want.IsZero() && !d.want.After(now) {
		return time.Time{}, false
	}
	d.at = now
	return d.want, true
}

func (c *limitedConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.setLocked(&c.rd, t, c.Conn.SetReadDeadline)
}

func (c *limitedConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.setLocked(&c.wd, t, c.Conn.SetWriteDeadline)
}

func (c *limitedConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.setLocked(&c.rd, t, c.Conn.SetReadDeadline); err != nil {
		return err
	}
	return c.setLocked(&c.wd, t, c.Conn.SetWriteDeadline)
}

func (c *limitedConn) setLocked(d *deadline, t time.Time, apply func(time.Time) error) error {
	arm, ok := d.set(t, time.Now)
	if !ok {
		return nil
	}
	if err := apply(arm); err != nil {
		return err
	}
	d.armed = arm
	return nil
}

// retry reports whether err is a timeout of an armed deadline earlier than
// the one asked for, and if so arms the one asked for.
func (c *limitedConn) retry(d *deadline, err error, apply func(time.Time) error) bool {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	arm, again := d.expired()
	if !again || apply(arm) != nil {
		return false
	}
	d.armed = arm
	return true
}

func (c *limitedConn) Read(b []byte) (int, error) {
	for {
		n, err := c.Conn.Read(b)
		if n > 0 || err == nil || !c.retry(&c.rd, err, c.Conn.SetReadDeadline) {
			return n, err
		}
	}
}

func (c *limitedConn) Write(b []byte) (int, error) {
	sent := 0
	for {
		n, err := c.Conn.Write(b[sent:])
		sent += n
		if err == nil || !c.retry(&c.wd, err, c.Conn.SetWriteDeadline) {
			return sent, err
		}
	}
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
