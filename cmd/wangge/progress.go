package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress draws a bar on a terminal and writes a plain line every few
// seconds otherwise (logs, CI), so long imports and gridgen runs show life
// without flooding a log file.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	label    string
	total    int64
	start    time.Time
	last     time.Time
	lastFrac float64
}

func newProgress(w io.Writer, label string, total int64) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	now := time.Now()
	return &progress{w: w, tty: tty, label: label, total: total, start: now, last: now}
}

// Set reports that done of total units are finished.
func (p *progress) Set(done int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	frac := 0.0
	if p.total > 0 {
		frac = min(float64(done)/float64(p.total), 1)
	}
	if p.tty {
		if now.Sub(p.last) < 100*time.Millisecond && frac < 1 {
			return
		}
		const width = 30
		n := int(frac * width)
		fmt.Fprintf(p.w, "\r%s [%s%s] %3.0f%% %s", p.label, strings.Repeat("=", n), strings.Repeat(" ", width-n), frac*100, now.Sub(p.start).Round(time.Second/10))
	} else {
		if now.Sub(p.last) < 5*time.Second {
			return
		}
		fmt.Fprintf(p.w, "%s: %.0f%% after %s\n", p.label, frac*100, now.Sub(p.start).Round(time.Second))
	}
	p.last, p.lastFrac = now, frac
}

// Done ends the bar's line.
func (p *progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprintln(p.w)
	}
}
