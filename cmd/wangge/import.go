package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/wangge/wangge/data"
	"github.com/wangge/wangge/data/importer"
)

// parseInterleaved parses flags that may come before, between or after the
// positional arguments, as users type them ("import households f.csv --db x").
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("import", stderr)
	db := fs.String("db", env("db", "wangge.gpkg"), "GeoPackage file (WANGGE_DB)")
	skip := fs.Bool("skip-invalid", false, "skip bad records (all are reported) and import the rest; default: any bad record aborts the import")
	replace := fs.Bool("replace", false, "delete the layer's features (for workers: the whole roster) first, in the same transaction")
	taxonomyFile := fs.String("taxonomy", env("taxonomy", ""), "JSON file of event categories and worker roles that hazards and workers are checked against, as serve --taxonomy; the built-in default is data/taxonomy.json (WANGGE_TAXONOMY)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageError{errors.New("want a layer and a file: wangge import households|areas|hazards|cameras|streets|units|workers FILE")}
	}
	layer, err := data.ParseLayer(pos[0])
	switch {
	case pos[0] == string(importer.LayerWorkers):
		// The roster is not a map layer, but imports like one.
		layer = importer.LayerWorkers
	case err != nil || layer == data.LayerGrids:
		return usageError{fmt.Errorf("cannot import %q: choose households, areas, hazards, cameras, streets, units or workers", pos[0])}
	}
	taxonomy, err := loadTaxonomy(*taxonomyFile)
	if err != nil {
		return err
	}
	f, err := os.Open(pos[1])
	if err != nil {
		return err
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}

	store, err := openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()

	bar := newProgress(stderr, "importing "+pos[1], size)
	shown := 0
	res, err := importer.Import(ctx, store, layer, f, pos[1], importer.Options{
		SkipInvalid: *skip,
		Actor:       cliActor(),
		Replace:     *replace,
		Taxonomy:    taxonomy,
		Progress:    func(n int64) { bar.Set(n) },
		Report: func(e importer.RowError) {
			// Every bad record is counted; the first MaxErrors are printed
			// so a million bad rows do not bury the summary.
			if shown < importer.MaxErrors {
				bar.Done()
				fmt.Fprintln(stderr, e.Error())
			}
			shown++
		},
	})
	bar.Done()
	if shown > importer.MaxErrors {
		fmt.Fprintf(stderr, "… and %d more bad records\n", shown-importer.MaxErrors)
	}
	fmt.Fprintf(stdout, "%s: read %d, imported %d, rejected %d\n", pos[1], res.Read, res.Imported, res.Rejected)
	for _, n := range res.Notes {
		fmt.Fprintf(stdout, "%s: note: %s\n", pos[1], n)
	}
	if errors.Is(err, importer.ErrRejected) {
		return fmt.Errorf("%d bad records, nothing imported (use --skip-invalid to import the good ones)", res.Rejected)
	}
	return err
}
