// Command webhook measures webhook delivery of one wangge replica
// (docs/BENCHMARKS.md, "Webhooks"): it runs a receiver on loopback,
// subscribes it (POST /v1/webhooks), POSTs -n hazards through the API with
// -workers at a time, and times each hazard's delivery from just before
// its POST was sent. Deliveries/s is counted from the first delivery to
// the last. With -floor it first sends -n signed POSTs of the same size
// to the same receiver from one goroutine, one after the other, as the
// deliverer does: the floor of in-order delivery on this machine.
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:18510", "the replica")
	listen := flag.String("listen", "127.0.0.1:18511", "the receiver's address (in the server's --webhook-allow)")
	n := flag.Int("n", 2000, "hazards to POST")
	workers := flag.Int("workers", 4, "POSTs in flight")
	floor := flag.Bool("floor", true, "measure the floor first: the same POSTs to the receiver from a plain loop")
	bin := flag.String("import-with", "", "instead of POSTs, import the -n hazards in one transaction with this wangge binary …")
	db := flag.String("db", "", "… into this store (the server's)")
	flag.Parse()
	if err := run(*base, *listen, *n, *workers, *floor, *bin, *db); err != nil {
		fmt.Fprintln(os.Stderr, "webhook:", err)
		os.Exit(1)
	}
}

const secret = "bench-secret-0123456789"

// receiver records when each delivery arrived, by the hazard's source id.
type receiver struct {
	mu    sync.Mutex
	at    map[string]time.Time
	first time.Time
	last  time.Time
	count atomic.Int64
	done  chan struct{}
	want  int64
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var m struct {
		Feature *struct {
			Properties struct {
				SourceID string `json:"source_id"`
			} `json:"properties"`
		} `json:"feature"`
	}
	now := time.Now()
	_ = json.Unmarshal(body, &m)
	rc.mu.Lock()
	if rc.first.IsZero() {
		rc.first = now
	}
	rc.last = now
	if m.Feature != nil {
		if _, seen := rc.at[m.Feature.Properties.SourceID]; !seen {
			rc.at[m.Feature.Properties.SourceID] = now
			if int64(len(rc.at)) == rc.want {
				close(rc.done)
			}
		}
	}
	rc.mu.Unlock()
	rc.count.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

func run(base, listen string, n, workers int, floor bool, bin, db string) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	rc := &receiver{at: map[string]time.Time{}, done: make(chan struct{}), want: int64(n)}
	go http.Serve(ln, rc)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers * 2}}

	if floor {
		body := []byte(`{"seq":1,"layer":"hazards","fid":1,"op":"insert","at":"2026-12-06T00:00:00.000Z","feature":{"type":"Feature","id":1,` +
			`"geometry":{"type":"Point","coordinates":[9.5209,47.141]},"properties":{"source_id":"floor","category":"water","severity":1,"status":"reported"}}}`)
		start := time.Now()
		for i := range n {
			req, _ := http.NewRequest("POST", "http://"+listen+"/floor", bytes.NewReader(body))
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			m := hmac.New(sha256.New, []byte(secret))
			m.Write([]byte(ts + "."))
			m.Write(body)
			req.Header.Set("Wangge-Signature", "t="+ts+",sha256="+hex.EncodeToString(m.Sum(nil)))
			req.Header.Set("Wangge-Delivery", "floor:"+strconv.Itoa(i))
			res, err := client.Do(req)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		took := time.Since(start)
		fmt.Printf("floor: %d signed POSTs in order from one goroutine in %v: %.0f/s\n", n, took.Round(time.Millisecond), float64(n)/took.Seconds())
		rc.mu.Lock()
		rc.at, rc.first, rc.last = map[string]time.Time{}, time.Time{}, time.Time{}
		rc.mu.Unlock()
		rc.count.Store(0)
	}

	hookID := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	hook, _ := json.Marshal(map[string]any{"id": hookID, "url": "http://" + listen + "/hook",
		"secret": secret, "filter": map[string]any{"layers": []string{"hazards"}}})
	res, err := client.Post(base+"/v1/webhooks", "application/json", bytes.NewReader(hook))
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST /v1/webhooks: %s %s", res.Status, b)
	}
	// The next run's receiver must not get this one's deliveries.
	defer func() {
		req, _ := http.NewRequest("DELETE", base+"/v1/webhooks/"+hookID, nil)
		if res, err := client.Do(req); err == nil {
			res.Body.Close()
		}
	}()

	sent := make([]time.Time, n)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		if bin != "" {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				body := fmt.Sprintf(`{"type":"Feature","geometry":{"type":"Point","coordinates":[%.6f,47.141]},"properties":{"category":"water","severity":1,"source_id":"wh/%d"}}`,
					9.52+float64(i%100)*1e-5, i)
				sent[i] = time.Now()
				res, err := client.Post(base+"/collections/hazards/items", "application/json", bytes.NewReader([]byte(body)))
				if err != nil || res.StatusCode != http.StatusCreated {
					failed.Add(1)
					if res != nil {
						res.Body.Close()
					}
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		}()
	}
	wg.Wait()
	posted := time.Since(start)
	if bin != "" {
		// One import: every delivery is timed from its start.
		var csv bytes.Buffer
		csv.WriteString("id,lon,lat,category,severity,status,reported_at\n")
		for i := range n {
			fmt.Fprintf(&csv, "wi/%d,%.6f,47.141,water,1,reported,2026-12-06T00:00:00Z\n", i, 9.52+float64(i%100)*1e-5)
		}
		f, err := os.CreateTemp("", "webhook-bench-*.csv")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		f.Write(csv.Bytes())
		f.Close()
		start = time.Now()
		for i := range sent {
			sent[i] = start
		}
		if out, err := exec.Command(bin, "import", "hazards", f.Name(), "--db", db).CombinedOutput(); err != nil {
			return fmt.Errorf("import: %v: %s", err, out)
		}
		posted = time.Since(start)
	}
	select {
	case <-rc.done:
	case <-time.After(120 * time.Second):
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var lat []time.Duration
	for i := range n {
		prefix := "wh/"
		if bin != "" {
			prefix = "wi/"
		}
		if at, ok := rc.at[fmt.Sprintf("%s%d", prefix, i)]; ok {
			lat = append(lat, at.Sub(sent[i]))
		}
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))].Round(100 * time.Microsecond)
	}
	span := rc.last.Sub(rc.first)
	if bin != "" {
		fmt.Printf("writes: %d imported in one transaction in %v\n", n, posted.Round(time.Millisecond))
	} else {
		fmt.Printf("writes: %d POSTed by %d workers in %v (%.0f/s), %d failed\n", n, workers, posted.Round(time.Millisecond), float64(n)/posted.Seconds(), failed.Load())
	}
	fmt.Printf("deliveries: %d received, covering %d of %d hazards; first to last %v: %.0f/s\n",
		rc.count.Load(), len(rc.at), n, span.Round(time.Millisecond), float64(rc.count.Load())/span.Seconds())
	fmt.Printf("POST sent -> delivered: p50 %v, p90 %v, p99 %v, max %v\n", pct(0.5), pct(0.9), pct(0.99), pct(1))
	if len(rc.at) != n {
		return fmt.Errorf("%d deliveries missing", n-len(rc.at))
	}
	return nil
}
