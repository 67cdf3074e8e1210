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
//
// With -headers (the default) the floor also sends every header of that
// answer, so that both write the same response: the same status line,
// the same header lines (net/http adds Date and, for a small answer,
// Content-Length to both) and the same body. Their values are built once
// and assigned into the header map, the least a net/http handler can do
// to send them. -headers=false sends only Content-Type and Content-Length
// (the floor of the first round, with three header lines to wangge's
// seven).
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
	headers := flag.Bool("headers", true, "with -like, send every header of the answer too, as wangge does")
	flag.Parse()
	if err := run(*addr, *like, *size, *headers); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

func run(addr, like string, size int, all bool) error {
	body := bytes.Repeat([]byte{' '}, size)
	header := http.Header{"Content-Type": {"application/json"}}
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
		if all {
			header = resp.Header.Clone()
			// net/http writes these itself, for both servers.
			delete(header, "Date")
			delete(header, "Content-Length")
		} else {
			header = http.Header{"Content-Type": {resp.Header.Get("Content-Type")}}
		}
	}
	if !all {
		header["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	// Header lines as the client reads them: the map's, Date, and the
	// Content-Length net/http adds when the map has none.
	lines := len(header) + 1
	if _, ok := header["Content-Length"]; !ok {
		lines++
	}
	// A slice, not the map, is walked per request: the cheaper of the two.
	type field struct {
		name  string
		value []string
	}
	var fields []field
	for k, v := range header {
		fields = append(fields, field{k, v[:len(v):len(v)]})
	}
	fmt.Printf("serving %d bytes with %d header lines on %s\n", len(body), lines, addr)
	return http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		for _, f := range fields {
			h[f.name] = f.value
		}
		w.Write(body)
	}))
}
