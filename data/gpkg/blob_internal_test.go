package gpkg

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
)

// encodePoint writes the bytes the general encoder writes.
func TestEncodePoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	points := []orb.Point{{0, 0}, {-180, -90}, {180, 90}, {math.Copysign(0, -1), 1e-300}}
	for range 1000 {
		points = append(points, orb.Point{-180 + rng.Float64()*360, -90 + rng.Float64()*180})
	}
	for _, p := range points {
		want, err := encodeWKB(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := encodePoint(p); !bytes.Equal(got, want) {
			t.Fatalf("%v: encodePoint %x, wkb.Marshal %x", p, got, want)
		}
	}
}
