package tiles

import (
	"bytes"
	"compress/gzip"
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"sync"
)

// Encoded is a rendered tile, or any other cached document, ready to send:
// its bytes, gzipped bytes, and strong ETags for both representations.
type Encoded struct {
	Raw      []byte // nil for a tile without features
	Gzip     []byte
	ETag     string // quoted, for Raw
	GzipETag string // quoted, for Gzip
}

// Encode compresses raw and computes its ETags. Small bodies are not
// worth compressing: Gzip is then nil and the raw bytes are sent.
func Encode(raw []byte) *Encoded {
	sum := sha256.Sum256(raw)
	tag := hex.EncodeToString(sum[:12])
	e := &Encoded{Raw: raw, ETag: `"` + tag + `"`}
	if len(raw) >= 256 {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		zw.Write(raw)
		zw.Close()
		if buf.Len() < len(raw) {
			e.Gzip, e.GzipETag = buf.Bytes(), `"`+tag+`-gz"`
		}
	}
	return e
}

func (e *Encoded) size() int { return len(e.Raw) + len(e.Gzip) + 128 }

// Cache holds encoded tiles of the current data version, least recently
// used out first. Entries of an older version are dropped when a newer
// version is first seen, so a write shows on the next request. Concurrent
// requests for the same missing tile render it once.
type Cache struct {
	max int

	mu       sync.Mutex
	version  uint64
	bytes    int
	lru      *list.List // of *cacheEntry, most recent first
	entries  map[string]*list.Element
	inflight map[string]*call

	hits, misses uint64
}

type cacheEntry struct {
	key string
	val *Encoded
}

type call struct {
	done chan struct{}
	val  *Encoded
	err  error
}

// NewCache returns a cache holding up to maxBytes of tiles; 0 disables
// caching (every request renders, still once per concurrent key).
func NewCache(maxBytes int) *Cache {
	return &Cache{max: maxBytes, lru: list.New(), entries: map[string]*list.Element{}, inflight: map[string]*call{}}
}

// Get returns the tile for key at version, rendering it with render when
// it is not cached. A render error is returned to every waiter and not
// cached.
func (c *Cache) Get(version uint64, key string, render func() (*Encoded, error)) (*Encoded, error) {
	c.mu.Lock()
	if version > c.version {
		c.version = version
		c.lru.Init()
		clear(c.entries)
		c.bytes = 0
		clear(c.inflight)
	}
	if version == c.version {
		if el, ok := c.entries[key]; ok {
			c.lru.MoveToFront(el)
			c.hits++
			c.mu.Unlock()
			return el.Value.(*cacheEntry).val, nil
		}
		if cl, ok := c.inflight[key]; ok {
			c.mu.Unlock()
			<-cl.done
			return cl.val, cl.err
		}
	}
	c.misses++
	cl := &call{done: make(chan struct{})}
	current := version == c.version
	if current {
		c.inflight[key] = cl
	}
	c.mu.Unlock()

	cl.val, cl.err = render()
	close(cl.done)

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inflight[key] == cl {
		delete(c.inflight, key)
	}
	if cl.err != nil || version != c.version || c.max <= 0 {
		return cl.val, cl.err
	}
	if _, ok := c.entries[key]; !ok {
		c.entries[key] = c.lru.PushFront(&cacheEntry{key: key, val: cl.val})
		c.bytes += cl.val.size()
		for c.bytes > c.max && c.lru.Len() > 1 {
			el := c.lru.Back()
			ce := el.Value.(*cacheEntry)
			c.lru.Remove(el)
			delete(c.entries, ce.key)
			c.bytes -= ce.val.size()
		}
	}
	return cl.val, nil
}

// CacheStats are a cache's counters.
type CacheStats struct {
	Version        uint64
	Entries, Bytes int
	Hits, Misses   uint64
}

// Stats returns the cache's counters.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Version: c.version, Entries: c.lru.Len(), Bytes: c.bytes, Hits: c.hits, Misses: c.misses}
}
