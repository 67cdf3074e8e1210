// Command stream loads the change stream of one wangge replica
// (docs/BENCHMARKS.md, "change stream"): it opens -clients Server-Sent
// Events streams on GET /v1/changes, then POSTs hazards through the API
// at -rate a second for -duration, and times each hazard's message on
// every stream: from just before its POST was sent (so the write's own
// commit is counted), and from the feed's commit time in the message
// ("at", milliseconds). With -pid it samples the server's resident memory
// (VmRSS in /proc/PID/status) before the streams open, once they are
// open, and every 250 ms under load.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:18500", "the replica")
	clients := flag.Int("clients", 1000, "streams to open")
	rate := flag.Float64("rate", 10, "hazards POSTed a second")
	dur := flag.Duration("duration", 30*time.Second, "how long to POST")
	query := flag.String("query", "layer=hazards", "query of GET /v1/changes")
	key := flag.String("key", "", "API key (Bearer), if the server needs one")
	pid := flag.Int("pid", 0, "the server's process id, for its VmRSS")
	flag.Parse()
	if err := run(*base, *clients, *rate, *dur, *query, *key, *pid); err != nil {
		fmt.Fprintln(os.Stderr, "stream:", err)
		os.Exit(1)
	}
}

// sent is when the POST of hazard n began.
type sent struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (s *sent) put(src string, t time.Time) {
	s.mu.Lock()
	s.at[src] = t
	s.mu.Unlock()
}

func (s *sent) get(src string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.at[src]
	return t, ok
}

// sample is one delivery: latency from the POST and from the feed's time.
type sample struct{ fromPost, fromFeed time.Duration }

type results struct {
	mu        sync.Mutex
	samples   []sample
	overflows atomic.Int64
	ended     atomic.Int64
}

func run(base string, n int, rate float64, dur time.Duration, query, key string, pid int) error {
	tr := &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true,
		DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext}
	client := &http.Client{Transport: tr}
	auth := func(req *http.Request) {
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
	}
	rss0 := rss(pid)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &sent{at: map[string]time.Time{}}
	res := &results{}
	var open sync.WaitGroup
	var opened atomic.Int64
	var failed atomic.Int64
	began := time.Now()
	sem := make(chan struct{}, 50) // connect 50 at a time
	for range n {
		open.Add(1)
		sem <- struct{}{}
		go func() {
			body, err := connect(ctx, client, base+"/v1/changes?"+query, auth)
			<-sem
			if err != nil {
				failed.Add(1)
				open.Done()
				fmt.Fprintln(os.Stderr, "connect:", err)
				return
			}
			opened.Add(1)
			open.Done()
			read(body, s, res)
		}()
	}
	open.Wait()
	fmt.Printf("streams: %d open, %d failed, in %v\n", opened.Load(), failed.Load(), time.Since(began).Round(time.Millisecond))
	time.Sleep(2 * time.Second) // settle
	rssOpen := rss(pid)

	var peak atomic.Int64
	peak.Store(rssOpen)
	stopSampling := make(chan struct{})
	go func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-t.C:
				if v := rss(pid); v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	}()

	var posts []time.Duration
	var postErrs int
	every := time.Duration(float64(time.Second) / rate)
	tick := time.NewTicker(every)
	end := time.Now().Add(dur)
	i := 0
	for now := range tick.C {
		if now.After(end) {
			break
		}
		src := fmt.Sprintf("bench/%d/%d", began.UnixNano(), i)
		i++
		b, _ := json.Marshal(map[string]any{"type": "Feature", "geometry": map[string]any{"type": "Point",
			"coordinates": []float64{9.50 + float64(i%50)*0.001, 47.12 + float64(i%40)*0.001}},
			"properties": map[string]any{"category": "fire", "severity": 1, "source_id": src}})
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/collections/hazards/items", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		auth(req)
		t0 := time.Now()
		s.put(src, t0)
		r, err := client.Do(req)
		if err != nil {
			postErrs++
			continue
		}
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		if r.StatusCode != http.StatusCreated {
			postErrs++
			continue
		}
		posts = append(posts, time.Since(t0))
	}
	tick.Stop()
	time.Sleep(3 * time.Second) // the last deliveries
	close(stopSampling)
	rssAfter := rss(pid)

	res.mu.Lock()
	defer res.mu.Unlock()
	var fromPost, fromFeed []time.Duration
	for _, x := range res.samples {
		fromPost = append(fromPost, x.fromPost)
		fromFeed = append(fromFeed, x.fromFeed)
	}
	want := int64(len(posts)) * opened.Load()
	fmt.Printf("writes: %d POSTed at %.0f/s for %v (%d failed); POST latency p50 %v p99 %v\n",
		len(posts), rate, dur, postErrs, pct(posts, 50), pct(posts, 99))
	fmt.Printf("deliveries: %d of %d expected (%d streams × %d writes); overflow events %d, streams ended %d\n",
		len(fromPost), want, opened.Load(), len(posts), res.overflows.Load(), res.ended.Load())
	fmt.Printf("latency from POST sent: p50 %v p90 %v p99 %v max %v\n", pct(fromPost, 50), pct(fromPost, 90), pct(fromPost, 99), pct(fromPost, 100))
	fmt.Printf("latency from feed time (ms resolution): p50 %v p90 %v p99 %v max %v\n", pct(fromFeed, 50), pct(fromFeed, 90), pct(fromFeed, 99), pct(fromFeed, 100))
	if pid > 0 {
		fmt.Printf("server VmRSS: %.1f MiB before the streams, %.1f MiB with %d open and idle, %.1f MiB peak under load, %.1f MiB after\n",
			mib(rss0), mib(rssOpen), opened.Load(), mib(peak.Load()), mib(rssAfter))
	}
	return nil
}

// connect opens one stream and reads up to its first block.
func connect(ctx context.Context, c *http.Client, url string, auth func(*http.Request)) (io.ReadCloser, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Accept", "text/event-stream")
	auth(req)
	r, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	if r.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		return nil, fmt.Errorf("%d %s", r.StatusCode, b)
	}
	return r.Body, nil
}

// read takes the messages of one stream and times the hazards it knows.
func read(body io.ReadCloser, s *sent, res *results) {
	defer body.Close()
	defer res.ended.Add(1)
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var msg struct {
		At      string `json:"at"`
		Feature *struct {
			Properties struct {
				SourceID string `json:"source_id"`
			} `json:"properties"`
		} `json:"feature"`
	}
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.HasPrefix(line, []byte("event: overflow")) {
			res.overflows.Add(1)
			continue
		}
		data, ok := bytes.CutPrefix(line, []byte("data: "))
		if !ok {
			continue
		}
		now := time.Now()
		msg.Feature = nil
		if json.Unmarshal(data, &msg) != nil || msg.Feature == nil || !strings.HasPrefix(msg.Feature.Properties.SourceID, "bench/") {
			continue
		}
		t0, ok := s.get(msg.Feature.Properties.SourceID)
		if !ok {
			continue
		}
		x := sample{fromPost: now.Sub(t0)}
		if at, err := time.Parse(time.RFC3339Nano, msg.At); err == nil {
			x.fromFeed = now.Sub(at)
		}
		res.mu.Lock()
		res.samples = append(res.samples, x)
		res.mu.Unlock()
	}
}

// rss returns the VmRSS of pid in bytes, 0 without one.
func rss(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// pct is the p-th percentile (nearest rank) of ds.
func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[min(max(i, 0), len(s)-1)].Round(100 * time.Microsecond)
}
