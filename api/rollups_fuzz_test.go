package api

import (
	"net/http/httptest"
	"testing"

	"github.com/wangge/wangge/data"
)

// FuzzRollupQuery: any query string of /v1/stats is read or refused with
// a 400, never a panic, and what is read is consistent.
func FuzzRollupQuery(f *testing.F) {
	for _, s := range []string{
		"level=1&group_by=area,month&since=2025-01-01&until=2026-01-01",
		"parent=&group_by=category,week&tz=%2B08:00",
		"parent=110101001&format=csv&lang=zh",
		"level=0&since=2025-01-01T00:00:00%2B08:00&tz=Asia/Shanghai",
		"tz=+08:00", "tz=-05:30", "tz=%2B1400", "level=1&parent=x", "group_by=,,", "coverage=0&kind=dispute&category=fire",
	} {
		f.Add(s, "text/csv", "zh-CN")
	}
	f.Fuzz(func(t *testing.T, query, accept, lang string) {
		r := httptest.NewRequest("GET", "/v1/stats", nil)
		r.URL.RawQuery = query
		r.Header.Set("Accept", accept)
		r.Header.Set("Accept-Language", lang)
		q, err := parseRollupQuery(r)
		if err != nil {
			if data.ErrorCode(err) != data.EINVALID {
				t.Fatalf("%q: %v is not a 400", query, err)
			}
			return
		}
		if q.loc == nil || (q.lang != "zh" && q.lang != "en") {
			t.Fatalf("%q: read without a calendar or a language: %+v", query, q)
		}
		if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
			t.Fatalf("%q: since %v is not before until %v", query, q.Since, q.Until)
		}
	})
}
