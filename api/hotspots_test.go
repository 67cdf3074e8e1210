package api_test

import (
	"encoding/json"
	"strings"
	"testing"
)

type hotspotPage struct {
	NumberMatched  int `json:"numberMatched"`
	NumberReturned int `json:"numberReturned"`
	Incidents      int
	Links          []struct{ Href, Rel string }
	Features       []struct {
		ID         string
		Properties struct {
			Count, Bin int
		}
	}
}

func hotspotsGet(t *testing.T, path string) hotspotPage {
	t.Helper()
	res, body := get(t, path)
	var p hotspotPage
	if res.StatusCode != 200 {
		t.Fatalf("%s: %d %.300s", path, res.StatusCode, body)
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if p.NumberReturned != len(p.Features) {
		t.Fatalf("%s: numberReturned %d, %d features", path, p.NumberReturned, len(p.Features))
	}
	return p
}

func hotspotsLink(p hotspotPage, rel string) string {
	for _, l := range p.Links {
		if l.Rel == rel {
			return strings.TrimPrefix(l.Href, server.URL)
		}
	}
	return ""
}

// TestHotspotsPaging follows the next links of /v1/hotspots through pages
// of 50 cells and checks that they add up to the one answer of the default
// page, in the same order, and that significant=true keeps the hot and
// cold spots alone.
func TestHotspotsPaging(t *testing.T) {
	all := hotspotsGet(t, "/v1/hotspots?res=10")
	if all.NumberMatched != len(all.Features) || all.NumberMatched < 200 || hotspotsLink(all, "next") != "" || hotspotsLink(all, "prev") != "" {
		t.Fatalf("one page: matched %d, returned %d, links %+v", all.NumberMatched, len(all.Features), all.Links)
	}
	var ids []string
	total, pages := 0, 0
	for url := "/v1/hotspots?res=10&limit=50"; url != ""; pages++ {
		p := hotspotsGet(t, url)
		if p.NumberMatched != all.NumberMatched || len(p.Features) > 50 {
			t.Fatalf("%s: matched %d, returned %d", url, p.NumberMatched, len(p.Features))
		}
		if (pages > 0) != (hotspotsLink(p, "prev") != "") || !strings.Contains(hotspotsLink(p, "self"), "res=10") {
			t.Fatalf("%s: links %+v", url, p.Links)
		}
		for _, f := range p.Features {
			ids = append(ids, f.ID)
			total += f.Properties.Count
		}
		url = hotspotsLink(p, "next")
		if url != "" && !strings.Contains(url, "res=10") {
			t.Fatalf("next link %q lost the query", url)
		}
	}
	if want := (all.NumberMatched + 49) / 50; pages != want || len(ids) != len(all.Features) || total != all.Incidents {
		t.Fatalf("%d pages, %d cells, %d incidents; want %d, %d, %d", pages, len(ids), total, want, len(all.Features), all.Incidents)
	}
	sig := 0
	for i, f := range all.Features {
		if ids[i] != f.ID {
			t.Fatalf("cell %d is %s paged, %s in one answer", i, ids[i], f.ID)
		}
		if f.Properties.Bin != 0 {
			sig++
		}
	}
	s := hotspotsGet(t, "/v1/hotspots?res=10&significant=true")
	if s.NumberMatched != sig || sig == 0 {
		t.Fatalf("significant: %d matched, want %d (>0)", s.NumberMatched, sig)
	}
	for _, f := range s.Features {
		if f.Properties.Bin == 0 {
			t.Fatalf("significant: cell %s of bin 0", f.ID)
		}
	}
	// Beyond the end: an empty page that still counts.
	p := hotspotsGet(t, "/v1/hotspots?res=10&offset=100000")
	if len(p.Features) != 0 || p.NumberMatched != all.NumberMatched || hotspotsLink(p, "next") != "" {
		t.Fatalf("beyond the end: %d features, matched %d, links %+v", len(p.Features), p.NumberMatched, p.Links)
	}
	for _, bad := range []string{"limit=0", "limit=10001", "offset=-1", "significant=maybe"} {
		if res, body := get(t, "/v1/hotspots?"+bad); res.StatusCode != 400 {
			t.Errorf("%s: %d, want 400: %.200s", bad, res.StatusCode, body)
		}
	}
}
