package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/wangge/wangge/data"
)

// SameContent fails the test unless stores a and b hold the same records
// with every field equal, fids and plan ids included, and serve the same
// features: what an export from one into the other must achieve.
func SameContent(t *testing.T, a, b data.Store) { sameContent(t, a, b, true) }

// SameRecords is SameContent for stores whose fids may differ (an import
// numbers records in its own order): records are matched by their source
// id or code instead.
func SameRecords(t *testing.T, a, b data.Store) { sameContent(t, a, b, false) }

func sameContent(t *testing.T, a, b data.Store, fids bool) {
	t.Helper()
	ctx := context.Background()
	// key names a record by fid, or by its natural key with the fid cleared.
	key := func(kind string, fid *int64, natural string) string {
		if fids {
			return fmt.Sprintf("%s %d", kind, *fid)
		}
		*fid = 0
		return kind + " " + natural
	}
	dump := func(s data.Store) map[string]string {
		out := map[string]string{}
		areas, err := s.Areas(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range areas {
			out[key("area", &x.FID, x.Code)] = fmt.Sprintf("%+v", x)
		}
		err = s.EachHousehold(ctx, func(h data.Household) error {
			out[key("household", &h.FID, h.ID)] = fmt.Sprintf("%+v", h)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		hz, err := s.Hazards(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hz {
			h.ReportedAt = h.ReportedAt.UTC()
			out[key("hazard", &h.FID, h.ID)] = fmt.Sprintf("%+v", h)
		}
		cams, err := s.Cameras(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cams {
			out[key("camera", &c.FID, c.ID)] = fmt.Sprintf("%+v", c)
		}
		plans, err := s.Plans(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, pm := range plans {
			p, err := s.Plan(ctx, pm.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range p.Grids {
				out[key(fmt.Sprintf("plan %d grid", p.ID), &g.FID, g.Code)] = fmt.Sprintf("%+v", g)
			}
			p.Grids = nil
			out[fmt.Sprintf("plan %d", p.ID)] = fmt.Sprintf("%+v", p)
		}
		for _, l := range data.Layers() {
			page, err := s.Items(ctx, l, data.Query{})
			if err != nil {
				t.Fatal(err)
			}
			out[fmt.Sprintf("%s matched", l)] = fmt.Sprint(page.Matched)
			for _, f := range page.Features {
				natural := fmt.Sprint(f.Properties["source_id"], f.Properties["code"], f.Properties["plan_id"])
				out[key(string(l)+" feature", &f.FID, natural)] = fmt.Sprintf("%#v", f)
			}
		}
		return out
	}
	da, db := dump(a), dump(b)
	diffs := 0
	for k, va := range da {
		if vb, ok := db[k]; !ok {
			t.Errorf("%s: only in the first store: %s", k, short(va))
			diffs++
		} else if va != vb {
			t.Errorf("%s differs:\n first %s\nsecond %s", k, short(va), short(vb))
			diffs++
		}
		if diffs > 20 {
			t.Fatal("too many differences")
		}
	}
	for k, vb := range db {
		if _, ok := da[k]; !ok {
			t.Errorf("%s: only in the second store: %s", k, short(vb))
		}
	}
	if len(da) < 10 {
		t.Errorf("only %d records compared: the stores are (nearly) empty", len(da))
	}
}

// short keeps messages about large geometries readable.
func short(s string) string {
	if len(s) > 300 {
		return s[:300] + fmt.Sprintf("… (%d bytes)", len(s))
	}
	return s
}
