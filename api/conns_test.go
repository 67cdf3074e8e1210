package api_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wangge/wangge/api"
)

// pair returns the two ends of a loopback connection accepted through
// api.LimitListener: the server's (with lazy deadlines) and the client's.
func pair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln = api.LimitListener(ln, 4)
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// timedRead reads one byte from c and returns the error and how long it
// took.
func timedRead(c net.Conn) (time.Duration, error) {
	start := time.Now()
	_, err := c.Read(make([]byte, 1))
	return time.Since(start), err
}

// TestLazyDeadlines: the deadlines of a connection of LimitListener, set
// lazily, fire when they were set to, neither sooner nor later, whatever
// came before them.
func TestLazyDeadlines(t *testing.T) {
	// Two read deadlines set in turn: the read times out at the second,
	// whether the socket's had to move for it or not.
	for _, tc := range []struct {
		name          string
		first, second time.Duration
	}{
		{"a nearer deadline after a farther one", 5 * time.Second, 100 * time.Millisecond},
		{"a farther deadline after a nearer one", 50 * time.Millisecond, 400 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := pair(t)
			now := time.Now()
			s.SetReadDeadline(now.Add(tc.first))
			s.SetReadDeadline(now.Add(tc.second))
			took, err := timedRead(s)
			if !errors.Is(err, os.ErrDeadlineExceeded) || took < tc.second-10*time.Millisecond || took > tc.second+3*time.Second {
				t.Errorf("read after %v: %v, want a timeout at %v, not at %v", took, err, tc.second, tc.first)
			}
		})
	}
	t.Run("no deadline after one", func(t *testing.T) {
		s, c := pair(t)
		s.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		s.SetReadDeadline(time.Time{})
		go func() {
			time.Sleep(300 * time.Millisecond)
			c.Write([]byte("x"))
		}()
		if took, err := timedRead(s); err != nil || took < 250*time.Millisecond {
			t.Errorf("read after %v: %v, want the byte sent at 300 ms", took, err)
		}
	})
	t.Run("a past deadline ends a pending read", func(t *testing.T) {
		s, _ := pair(t)
		s.SetReadDeadline(time.Now().Add(time.Hour))
		go func() {
			time.Sleep(100 * time.Millisecond)
			s.SetReadDeadline(time.Unix(1, 0)) // as net/http ends its background read
		}()
		took, err := timedRead(s)
		if !errors.Is(err, os.ErrDeadlineExceeded) || took > 3*time.Second {
			t.Errorf("read after %v: %v, want a timeout at 100 ms", took, err)
		}
		// And clearing it lets the next read wait for data.
		s.SetReadDeadline(time.Time{})
		s.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if took, err := timedRead(s); !errors.Is(err, os.ErrDeadlineExceeded) || took < 190*time.Millisecond {
			t.Errorf("next read after %v: %v, want a timeout after 200 ms", took, err)
		}
	})
	t.Run("a write outlives an earlier armed deadline", func(t *testing.T) {
		s, c := pair(t)
		now := time.Now()
		s.SetWriteDeadline(now.Add(50 * time.Millisecond))
		s.SetWriteDeadline(now.Add(10 * time.Second))
		// More than the socket buffers hold, read only after the first
		// deadline has passed: the write blocks past it and must go on.
		big := make([]byte, 32<<20)
		got := make(chan int64, 1)
		go func() {
			time.Sleep(300 * time.Millisecond)
			n, _ := io.CopyN(io.Discard, c, int64(len(big)))
			got <- n
		}()
		n, err := s.Write(big)
		if err != nil || n != len(big) {
			t.Fatalf("wrote %d of %d: %v", n, len(big), err)
		}
		if r := <-got; r != int64(len(big)) {
			t.Errorf("client read %d of %d", r, len(big))
		}
	})
	t.Run("a write past its deadline fails", func(t *testing.T) {
		s, _ := pair(t)
		s.SetWriteDeadline(time.Now().Add(5 * time.Second))
		s.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		start := time.Now()
		_, err := s.Write(make([]byte, 32<<20)) // nobody reads
		if took := time.Since(start); !errors.Is(err, os.ErrDeadlineExceeded) || took > 4*time.Second {
			t.Errorf("write after %v: %v, want a timeout at 200 ms", took, err)
		}
	})
}

// TestSlowClientsCutOff: behind LimitListener, net/http's timeouts still
// drop a client that sends its headers or its body too slowly, and keep
// one that idles between requests for less than the idle timeout, though
// that is longer than the header timeout the socket's deadline was armed
// for.
func TestSlowClientsCutOff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bodyErr := make(chan error, 4)
	hs := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				_, err := io.ReadAll(r.Body)
				bodyErr <- err
			}
			io.WriteString(w, "ok\n")
		}),
		ReadHeaderTimeout: 300 * time.Millisecond,
		ReadTimeout:       600 * time.Millisecond,
		IdleTimeout:       3 * time.Second,
	}
	go hs.Serve(api.LimitListener(ln, 8))
	t.Cleanup(func() { hs.Close() })
	addr := ln.Addr().String()

	// warm makes a connection and asks two requests on it, so that its
	// deadlines have been moved as they are under load.
	warm := func(t *testing.T) (net.Conn, *bufio.Reader) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		br := bufio.NewReader(c)
		for range 2 {
			ask(t, c, br)
		}
		return c, br
	}
	// closedWithin reports whether the server closes c within d.
	closedWithin := func(c net.Conn, br *bufio.Reader, d time.Duration) bool {
		c.SetReadDeadline(time.Now().Add(d))
		_, err := io.ReadAll(br)
		return err == nil // EOF: closed by the server
	}

	t.Run("idle between requests", func(t *testing.T) {
		c, br := warm(t)
		time.Sleep(900 * time.Millisecond) // past both read timeouts, within the idle one
		ask(t, c, br)
	})
	t.Run("headers trickled", func(t *testing.T) {
		c, br := warm(t)
		stop := make(chan struct{})
		defer close(stop)
		go trickle(c, "GET /x HTTP/1.1\r\nHost: x\r\nX-Slow: "+strings.Repeat("a", 200), stop)
		start := time.Now()
		if !closedWithin(c, br, 2500*time.Millisecond) {
			t.Fatalf("a client trickling its headers still connected after %v (ReadHeaderTimeout 300 ms)", time.Since(start))
		}
	})
	t.Run("body trickled", func(t *testing.T) {
		c, _ := warm(t)
		stop := make(chan struct{})
		defer close(stop)
		if _, err := io.WriteString(c, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 400\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		go trickle(c, strings.Repeat("a", 400), stop)
		select {
		case err := <-bodyErr:
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("body read: %v, want a timeout (ReadTimeout 600 ms)", err)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("a client trickling its body was still being read after 3 s (ReadTimeout 600 ms)")
		}
	})
}

// ask sends one GET on c and reads its answer.
func ask(t *testing.T, c net.Conn, br *bufio.Reader) {
	t.Helper()
	if _, err := io.WriteString(c, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
}

// trickle writes s to c a byte every 50 ms until stop is closed.
func trickle(c net.Conn, s string, stop <-chan struct{}) {
	for i := 0; i < len(s); i++ {
		select {
		case <-stop:
			return
		case <-time.After(50 * time.Millisecond):
		}
		if _, err := c.Write([]byte{s[i]}); err != nil {
			return
		}
	}
}

// BenchmarkRequestDeadlines is the deadlines net/http moves for one
// request with serve's timeouts (idle, header, whole request, write, the
// background read's end), on a bare TCP connection and on one of
// LimitListener, which moves the socket's only when it must; and, as
// "untimed", the moves of a server without timeouts (bench/floor's) on a
// bare TCP connection: what the timeouts cost on top.
func BenchmarkRequestDeadlines(b *testing.B) {
	for _, name := range []string{"tcp", "limited", "untimed"} {
		b.Run(name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			if name == "limited" {
				ln = api.LimitListener(ln, 4)
			}
			defer ln.Close()
			go func() {
				if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
					defer c.Close()
					io.Copy(io.Discard, c)
				}
			}()
			c, err := ln.Accept()
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			b.ReportAllocs()
			if name == "untimed" {
				for b.Loop() {
					c.SetReadDeadline(time.Time{}) // idle
					c.SetReadDeadline(time.Time{}) // header
					c.SetReadDeadline(time.Time{}) // whole request
					c.SetReadDeadline(time.Time{}) // the background read's start
					c.SetReadDeadline(time.Unix(1, 0))
					c.SetReadDeadline(time.Time{})
					c.SetWriteDeadline(time.Time{})
				}
				return
			}
			for b.Loop() {
				now := time.Now()
				c.SetReadDeadline(now.Add(30 * time.Second)) // idle
				c.SetReadDeadline(now.Add(5 * time.Second))  // header
				c.SetReadDeadline(now.Add(30 * time.Second)) // whole request
				c.SetWriteDeadline(now.Add(60 * time.Second))
				c.SetReadDeadline(time.Unix(1, 0)) // end of the background read
				c.SetReadDeadline(time.Time{})
				c.SetWriteDeadline(time.Time{})
			}
		})
	}
}
