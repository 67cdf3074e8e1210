// Command floor is the floor bench/locate.sh measures wangge's locate
// against: a bare net/http server that answers every request with the
// same JSON body, as large as wangge's answer to the same request, and
// does nothing else. The difference between the two is what wangge's own
// request path costs (routing, authentication, the lookup, the answer).
//
//	floor -addr 127.0.0.1:18481 -like 'http://127.0.0.1:18480/v1/locate?lon=-56.1645&lat=-34.9011'
//
// -like fetches one answer from the running wangge and serves its bytes,
// so both send the same size; without it the body is -size bytes.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18481", "listen address")
	like := flag.String("like", "", "URL whose answer is served (its body and Content-Type)")
	size := flag.Int("size", 330, "body size without -like")
	flag.Parse()
	if err := run(*addr, *like, *size); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

func run(addr, like string, size int) error {
	body, ctype := bytes.Repeat([]byte{' '}, size), "application/json"
	if like != "" {
		resp, err := http.Get(like)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if body, err = io.ReadAll(resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", like, resp.Status)
		}
		ctype = resp.Header.Get("Content-Type")
	}
	n := strconv.Itoa(len(body))
	fmt.Printf("serving %d bytes of %s on %s\n", len(body), ctype, addr)
	return http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{ctype}
		h["Content-Length"] = []string{n}
		w.Write(body)
	}))
}
