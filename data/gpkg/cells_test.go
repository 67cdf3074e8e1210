package gpkg

import (
	"slices"
	"strings"
	"testing"
)

// The grids' cells are stored as text; decodeCells must read back exactly
// what encodeCells wrote and refuse what is not a list of cells.
func TestDecodeCells(t *testing.T) {
	for _, cells := range [][]uint64{nil, {0}, {0x8b1f8d6c1a2bfff}, {0x8b1f8d6c1a2bfff, 0x8b1f8d6c1a2afff, 1<<64 - 1}} {
		got, err := decodeCells(encodeCells(cells))
		if err != nil || !slices.Equal(got, cells) {
			t.Errorf("decodeCells(encodeCells(%x)) = %x, %v", cells, got, err)
		}
	}
	if got, err := decodeCells("  8B1F8D6C1A2BFFF\n\t8b1f8d6c1a2afff "); err != nil || !slices.Equal(got, []uint64{0x8b1f8d6c1a2bfff, 0x8b1f8d6c1a2afff}) {
		t.Errorf("white space and upper case: %x, %v", got, err)
	}
	for _, bad := range []string{"8b1f8d6c1a2bfff xyz", "0x8b1f", "1ffffffffffffffff", "-1", "8b1f,8b2f"} {
		_, err := decodeCells(bad)
		if err == nil {
			t.Errorf("decodeCells(%q) succeeded", bad)
			continue
		}
		if !strings.Contains(err.Error(), "bad cell") {
			t.Errorf("decodeCells(%q): %v does not name the bad cell", bad, err)
		}
	}
}
