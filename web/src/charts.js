// The dashboard's charts: Apache ECharts, only the parts used (a bar and a
// line chart, their axes and tooltip, the canvas renderer), so the bundle
// stays small; the legend is the page's own HTML (trendLegend), 18 kB less. The tooltip is drawn on the canvas (renderMode
// richText): ECharts' HTML tooltip writes style attributes, which the page's
// Content-Security-Policy (style-src 'self') refuses.
import * as echarts from "echarts/core";
import { BarChart, LineChart } from "echarts/charts";
import { GridComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import { t } from "./i18n.js";

echarts.use([BarChart, LineChart, GridComponent, TooltipComponent, CanvasRenderer]);

const font = 'system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK SC", sans-serif';
const base = {
  animation: false, // a chart that follows clicks and live changes should not move about
  textStyle: { fontFamily: font, fontSize: 11 },
  tooltip: { trigger: "axis", renderMode: "richText", confine: true },
  grid: { left: 8, right: 8, top: 10, bottom: 4, containLabel: true },
};

/** A chart in el, made when first needed (el must have a size by then). */
function chartIn(el) {
  return echarts.getInstanceByDom(el) || echarts.init(el, null, { renderer: "canvas" });
}

/** The trend chart's series: name (in the page's language) and colour, for the chart and its legend. */
export const trendSeries = () => [
  [t("chart.reported"), "#fd8d3c"],
  [t("chart.closed"), "#2c7bb6"],
  [t("chart.closureRate"), "#1a9850"],
];

/**
 * The trend by month: events reported (bars) and closed (line), and the
 * closure rate on its own axis.
 */
export function trendChart(el, s) {
  const c = chartIn(el);
  const [rep, closed, rate] = trendSeries();
  c.setOption({
    ...base,
    xAxis: { type: "category", data: s.months, axisLabel: { fontSize: 10, hideOverlap: true } },
    yAxis: [
      { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#eee" } } },
      { type: "value", min: 0, max: 100, axisLabel: { formatter: (v) => t("unit.pct", { v }) }, splitLine: { show: false } },
    ],
    series: [
      { name: rep[0], type: "bar", data: s.reported, itemStyle: { color: rep[1] }, barMaxWidth: 18 },
      { name: closed[0], type: "line", data: s.closed, itemStyle: { color: closed[1] }, symbolSize: 4 },
      { name: rate[0], type: "line", yAxisIndex: 1, data: s.closure.map((v) => (v === null ? null : Math.round(v * 1000) / 10)),
        itemStyle: { color: rate[1] }, lineStyle: { type: "dashed", width: 1 }, symbolSize: 3, connectNulls: true },
    ],
  }, { notMerge: true });
  return c;
}

/** Events by category, largest on top: labels are the taxonomy's (Chinese first). */
export function categoryChart(el, items) {
  const c = chartIn(el);
  const rows = [...items].reverse(); // a horizontal bar chart draws its first row at the bottom
  c.setOption({
    ...base,
    tooltip: { trigger: "item", renderMode: "richText", confine: true },
    grid: { left: 8, right: 28, top: 6, bottom: 4, containLabel: true },
    xAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#eee" } } },
    yAxis: { type: "category", data: rows.map((r) => r.label), axisLabel: { fontSize: 11, width: 150, overflow: "truncate" } },
    series: [{ name: t("chart.reported"), type: "bar", data: rows.map((r) => r.reported), itemStyle: { color: "#756bb1" }, barMaxWidth: 14,
      label: { show: true, position: "right", fontSize: 10 } }],
  }, { notMerge: true });
  return c;
}

/** Fits every chart in els to its box again (after the panel was hidden). */
export function resizeCharts(els) {
  for (const el of els) echarts.getInstanceByDom(el)?.resize();
}
