package api

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wangge/wangge/live"
)

// This file holds the CSV form of /v1/stats: its columns, headed in English
// or Chinese, the writer for Excel and the file's name.

// csvColumn is one column of the CSV export: its headers and its cell.
type csvColumn struct {
	en, zh string
	cell   func(*rollupRow) string
}

func csvInt(n int) string { return strconv.Itoa(n) }

func csvFloat(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

func csvStr(v *string) string {
	if v == nil {
		return ""
	}
	return *v
}

// figureColumns are the columns of a row's figures, of the row itself or
// of its previous periods (pick).
func figureColumns(enPrefix, zhPrefix string, pick func(*rollupRow) *rollupFigures) []csvColumn {
	col := func(en, zh string, cell func(*rollupFigures) string) csvColumn {
		return csvColumn{en: enPrefix + en, zh: zhPrefix + zh, cell: func(r *rollupRow) string {
			f := pick(r)
			if f == nil {
				return ""
			}
			return cell(f)
		}}
	}
	cols := []csvColumn{}
	if enPrefix != "" {
		cols = append(cols,
			col("since", "起", func(f *rollupFigures) string { return csvStr(f.Since) }),
			col("until", "止", func(f *rollupFigures) string { return csvStr(f.Until) }))
	}
	return append(cols,
		col("reported", "上报", func(f *rollupFigures) string { return csvInt(f.Reported) }),
		col("closed", "办结", func(f *rollupFigures) string { return csvInt(f.Closed) }),
		col("rejected", "不予受理", func(f *rollupFigures) string { return csvInt(f.Rejected) }),
		col("open", "未办结", func(f *rollupFigures) string { return csvInt(f.Open) }),
		col("overdue", "超期", func(f *rollupFigures) string { return csvInt(f.Overdue) }),
		col("repeat", "重复发生", func(f *rollupFigures) string { return csvInt(f.Repeat) }),
		col("closure rate", "办结率", func(f *rollupFigures) string { return csvFloat(f.ClosureRate) }),
		col("on-time rate", "按时办结率", func(f *rollupFigures) string { return csvFloat(f.OnTimeRate) }),
		col("median hours to close", "办结用时中位数（小时）", func(f *rollupFigures) string { return csvFloat(f.MedianH) }),
		col("p90 hours to close", "办结用时P90（小时）", func(f *rollupFigures) string { return csvFloat(f.P90H) }),
		col("events per 1000 households", "每千户事件数", func(f *rollupFigures) string { return csvFloat(f.Per1000) }),
	)
}

// writeRollupCSV writes the rows as CSV for Excel: UTF-8 with a BOM (Excel
// reads a file without one in the system's code page, which garbles
// Chinese), CRLF line ends, headers in the request's language.
func writeRollupCSV(w http.ResponseWriter, q *rollupQuery, res *live.Rollup, rows []rollupRow, risk bool) error {
	cols := []csvColumn{
		{"area code", "地区代码", func(r *rollupRow) string { return r.AreaCode }},
		{"area", "地区", func(r *rollupRow) string { return r.AreaName }},
		{"level", "层级", func(r *rollupRow) string { return csvInt(r.AreaLevel) }},
		{"type", "类型", func(r *rollupRow) string { return r.AreaType }},
	}
	if q.Period != live.PeriodNone {
		cols = append(cols,
			csvColumn{"period", "周期", func(r *rollupRow) string { return csvStr(r.Period) }},
			csvColumn{"period start", "开始日期", func(r *rollupRow) string { return csvStr(r.PeriodStart) }},
			csvColumn{"period end", "结束日期", func(r *rollupRow) string { return csvStr(r.PeriodEnd) }})
	}
	if q.ByCategory {
		cols = append(cols,
			csvColumn{"category code", "类别代码", func(r *rollupRow) string { return csvStr(r.Category) }},
			csvColumn{"category", "类别", func(r *rollupRow) string { return csvStr(r.CategoryName) }})
	}
	cols = append(cols, figureColumns("", "", func(r *rollupRow) *rollupFigures { return &r.rollupFigures })...)
	cols = append(cols,
		csvColumn{"households", "户数", func(r *rollupRow) string { return csvInt(r.Households) }},
		csvColumn{"grids", "网格数", func(r *rollupRow) string { return csvInt(r.Grids) }},
		csvColumn{"workers", "网格员数", func(r *rollupRow) string { return csvInt(r.Workers) }},
		csvColumn{"workers per grid", "每网格网格员数", func(r *rollupRow) string { return csvFloat(r.WorkersPerGrid) }})
	if q.Cameras {
		cam := func(cell func(*rollupCameras) string) func(*rollupRow) string {
			return func(r *rollupRow) string {
				if r.Cameras == nil {
					return ""
				}
				return cell(r.Cameras)
			}
		}
		cols = append(cols,
			csvColumn{"cameras online", "在线摄像头", cam(func(c *rollupCameras) string { return csvInt(c.Online) })},
			csvColumn{"cameras", "摄像头总数", cam(func(c *rollupCameras) string { return csvInt(c.Total) })},
			csvColumn{"cameras online rate", "摄像头完好率", cam(func(c *rollupCameras) string { return csvFloat(c.OnlineRate) })},
			csvColumn{"camera coverage of households", "视频覆盖户数比例", cam(func(c *rollupCameras) string { return csvFloat(c.HouseholdsShare) })},
			csvColumn{"camera coverage of area", "视频覆盖面积比例", cam(func(c *rollupCameras) string { return csvFloat(c.AreaShare) })})
	}
	if risk {
		cols = append(cols,
			csvColumn{"risk level", "风险等级", func(r *rollupRow) string { return csvStr(r.RiskLevel) }},
			csvColumn{"risk reasons", "风险原因", func(r *rollupRow) string {
				if r.RiskReasons == nil {
					return ""
				}
				return strings.Join(*r.RiskReasons, "; ")
			}})
	}
	cols = append(cols, figureColumns("previous: ", "上期", func(r *rollupRow) *rollupFigures { return r.Previous })...)
	cols = append(cols, figureColumns("year before: ", "去年同期", func(r *rollupRow) *rollupFigures { return r.PreviousYear })...)

	var buf bytes.Buffer
	buf.WriteString("\uFEFF")
	cw := csv.NewWriter(&buf)
	cw.UseCRLF = true
	rec := make([]string, len(cols))
	for i, c := range cols {
		rec[i] = c.en
		if q.lang == "zh" {
			rec[i] = c.zh
		}
	}
	cw.Write(rec)
	for i := range rows {
		for k, c := range cols {
			rec[k] = c.cell(&rows[i])
		}
		cw.Write(rec)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+csvFilename(q)+`"`)
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(buf.Bytes())
	return err
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// csvFilename names the export after its scope, grouping and period, in
// ASCII so that every browser keeps it.
func csvFilename(q *rollupQuery) string {
	parts := []string{"wangge-stats"}
	switch {
	case q.HasParent && q.Parent == "":
		parts = append(parts, "top")
	case q.HasParent:
		parts = append(parts, "parent-"+unsafeName.ReplaceAllString(q.Parent, "_"))
	default:
		parts = append(parts, "level"+csvInt(q.Level))
	}
	if len(q.groupBy) > 0 {
		parts = append(parts, strings.Join(q.groupBy, "-"))
	}
	if !q.Since.IsZero() {
		parts = append(parts, "from-"+q.Since.In(q.loc).Format(time.DateOnly))
	}
	if !q.Until.IsZero() {
		parts = append(parts, "to-"+q.Until.In(q.loc).Format(time.DateOnly))
	}
	return strings.Join(parts, "_") + ".csv"
}
