package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestIdleConnectionsDoNotLockOut: under a file limit of 256, one address
// opening 400 idle keep-alive connections must not keep a new client (from
// another address) out.
func TestIdleConnectionsDoNotLockOut(t *testing.T) {
	bin := buildWangge(t)
	addr := freeAddr(t)
	db := filepath.Join(t.TempDir(), "conns.gpkg")
	cmd := exec.Command("sh", "-c", `ulimit -n 256 && exec "$0" "$@"`, bin, "serve", "--demo", "--db", db, "--addr", addr,
		"--public-read", "--rate-limit", "0", "--max-conns-per-addr", "64")
	log := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	waitReady(t, addr, log)

	// The abuser: 400 connections from 127.0.0.1, each sending one request
	// and then left open, idle; all within a second or two, well inside the
	// server's idle timeout, so nothing frees them meanwhile.
	var held []net.Conn
	t.Cleanup(func() {
		for _, c := range held {
			c.Close()
		}
	})
	for range 400 {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		held = append(held, c)
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	}
	answered := 0
	deadline := time.Now().Add(2 * time.Second)
	for _, c := range held {
		c.SetReadDeadline(deadline)
		if line, err := bufio.NewReader(c).ReadString('\n'); err == nil && strings.HasPrefix(line, "HTTP/1.1 200") {
			answered++
		}
	}
	t.Logf("abuser: %d connections open, %d answered 200, the rest 503 or nothing", len(held), answered)

	// A new client from another loopback address still gets its answer.
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 2 * time.Second}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		return dialer.DialContext(ctx, network, a)
	}}}
	res, err := client.Get("http://" + addr + "/collections/areas/items?limit=1")
	if err != nil {
		t.Fatalf("a new client is locked out by another address's idle connections: %v\n%s", err, log)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("new client: %d %s", res.StatusCode, body)
	}
}

// waitReady waits up to 30 s for /readyz at addr to answer 200.
func waitReady(t *testing.T, addr string, log fmt.Stringer) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := client.Get("http://" + addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready after 30 s (last: %v)\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
