package spatial_test

import (
	"fmt"
	"sync/atomic"

	"github.com/paulmach/orb"

	"github.com/wangge/wangge/spatial"
)

// A published plan lives behind an atomic pointer: publishing builds a new
// Locator and swaps it in while lookups keep using the old one.
func ExampleLocator() {
	west := orb.MultiPolygon{{{{116.0, 30.0}, {116.1, 30.0}, {116.1, 30.1}, {116.0, 30.1}, {116.0, 30.0}}}}
	east := orb.MultiPolygon{{{{116.1, 30.0}, {116.2, 30.0}, {116.2, 30.1}, {116.1, 30.1}, {116.1, 30.0}}}}
	loc, err := spatial.NewLocator([]spatial.LocatorGrid{{ID: 1, Geom: west}, {ID: 2, Geom: east}})
	if err != nil {
		panic(err)
	}
	var published atomic.Pointer[spatial.Locator]
	published.Store(loc)

	// A phone using AMap sends GCJ-02.
	p := spatial.GCJ02.ToWGS84(spatial.WGS84ToGCJ02(orb.Point{116.05, 30.05}))
	id, ok := published.Load().Locate(p)
	fmt.Println(id, ok)
	// On the shared edge the grid to the east wins.
	id, ok = published.Load().Locate(orb.Point{116.1, 30.05})
	fmt.Println(id, ok)
	fmt.Printf("%.0f m to the edge\n", published.Load().DistanceToBoundaryM(orb.Point{116.05, 30.05}, 1))
	// Output:
	// 1 true
	// 2 true
	// 4818 m to the edge
}

func ExampleSector() {
	// A camera facing east with a 90° field of view and 100 m range.
	s := spatial.Sector(orb.Point{116.4, 39.9}, 90, 90, 100, 32)
	fmt.Printf("%.0f m²\n", spatial.AreaM2(s))
	// Output: 7851 m²
}
