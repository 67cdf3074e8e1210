// Command gencsv writes a seeded synthetic household CSV (id,lon,lat,households)
// for import benchmarks: N points spread over Montevideo's extent.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
)

func main() {
	n := flag.Int("n", 1_000_000, "rows")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	r := rand.New(rand.NewPCG(*seed, *seed))
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	fmt.Fprintln(w, "id,lon,lat,households")
	for i := range *n {
		hh := 1
		if r.IntN(20) == 0 {
			hh = 2 + r.IntN(60) // an apartment block now and then
		}
		fmt.Fprintf(w, "gen/%d,%.7f,%.7f,%d\n", i+1, -56.43+r.Float64()*0.40, -34.94+r.Float64()*0.24, hh)
	}
}
