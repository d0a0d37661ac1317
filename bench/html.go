package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"os"
	"strings"
)

// WriteHTML writes a self-contained page (inline SVG, no scripts from
// anywhere) with the table, throughput and percentiles over time, and
// the latency distribution.
func (r *Result) WriteHTML(path string) error {
	var table bytes.Buffer
	r.WriteTable(&table)
	js, _ := json.MarshalIndent(r.Params, "", "  ")
	var charts []template.HTML
	xs := make([]float64, len(r.Series))
	for i, p := range r.Series {
		xs[i] = p.T
	}
	col := func(f func(Point) float64) []float64 {
		out := make([]float64, len(r.Series))
		for i, p := range r.Series {
			out[i] = f(p)
		}
		return out
	}
	if r.Connect == nil && r.Sync == nil {
		charts = append(charts,
			lineChart("Throughput (messages/s, deliveries/s)", "s", xs, false, []line{
				{"sent/s", "#888", col(func(p Point) float64 { return p.SentPerS })},
				{"acked/s", "#1f77b4", col(func(p Point) float64 { return p.AckedPerS })},
				{"delivered/s", "#2ca02c", col(func(p Point) float64 { return p.DeliveredPerS })},
			}),
			lineChart("Latency per second (ms, from intended send time)", "s", xs, false, []line{
				{"ack p50", "#9ecae1", col(func(p Point) float64 { return p.AckP50 })},
				{"ack p99", "#1f77b4", col(func(p Point) float64 { return p.AckP99 })},
				{"delivery p50", "#a1d99b", col(func(p Point) float64 { return p.DlvP50 })},
				{"delivery p99", "#2ca02c", col(func(p Point) float64 { return p.DlvP99 })},
			}))
	}
	if r.Connect != nil {
		charts = append(charts, lineChart("Connections up", "s", xs, false, []line{
			{"connections", "#1f77b4", col(func(p Point) float64 { return float64(p.Conns) })},
		}))
	}
	if len(r.AckSpectrum)+len(r.DeliverySpectrum)+len(r.ConnectSpectrum) > 0 {
		charts = append(charts, spectrumChart([]spectrumLine{{"send→ack", "#1f77b4", r.AckSpectrum},
			{"send→delivery", "#2ca02c", r.DeliverySpectrum}, {"connect", "#ff7f0e", r.ConnectSpectrum}}))
	}
	charts = append(charts,
		lineChart("CPU (cores)", "s", xs, false, []line{
			{"server", "#d62728", col(func(p Point) float64 { return p.ServerCores })},
			{"bench", "#9467bd", col(func(p Point) float64 { return p.BenchCores })},
		}),
		lineChart("Node run-queue wait, p90 (ms)", "s", xs, false, []line{
			{"server", "#d62728", col(func(p Point) float64 { return p.ServerSchedP90 })},
		}),
		lineChart("Memory (MiB)", "s", xs, false, []line{
			{"server RSS", "#d62728", col(func(p Point) float64 { return p.ServerRSS / (1 << 20) })},
			{"bench heap", "#9467bd", col(func(p Point) float64 { return float64(p.BenchHeap) / (1 << 20) })},
		}))
	var out bytes.Buffer
	err := pageTmpl.Execute(&out, map[string]any{
		"Title": fmt.Sprintf("switchboard bench %s — %s", r.Scenario, r.StartedAt.Format("2006-01-02 15:04:05")),
		"Table": table.String(), "Params": string(js), "Charts": charts, "Faults": strings.Join(r.Faults(), ", "),
	})
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		return fmt.Errorf("bench: write %s: %w", path, err)
	}
	return nil
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}
pre{background:#f6f6f6;padding:12px;overflow-x:auto}
.fault{color:#b00;font-weight:bold}.ok{color:#080;font-weight:bold}
svg{display:block;margin:16px 0;background:#fff;border:1px solid #ddd}
svg text{font:11px system-ui,sans-serif;fill:#444}
</style></head><body>
<h1>{{.Title}}</h1>
{{if .Faults}}<p class="fault">Verification failed: {{.Faults}}</p>{{else}}<p class="ok">Verification passed: nothing lost, duplicated or out of order.</p>{{end}}
<pre>{{.Table}}</pre>
{{range .Charts}}{{.}}{{end}}
<h2>Parameters</h2><pre>{{.Params}}</pre>
</body></html>
`))

type line struct {
	name, color string
	ys          []float64
}

const (
	chartW, chartH = 960, 280
	padL, padR     = 64, 150
	padT, padB     = 28, 36
)

// lineChart draws series over shared x values as an SVG.
func lineChart(title, xunit string, xs []float64, logY bool, ls []line) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg width="%d" height="%d" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg">`, chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<text x="%d" y="18" style="font-weight:bold;font-size:13px">%s</text>`, padL, template.HTMLEscapeString(title))
	if len(xs) == 0 {
		b.WriteString(`<text x="64" y="60">no samples</text></svg>`)
		return template.HTML(b.String())
	}
	xmax, ymax := xs[len(xs)-1], 0.0
	for _, l := range ls {
		for _, y := range l.ys {
			if !math.IsNaN(y) && !math.IsInf(y, 0) {
				ymax = max(ymax, y)
			}
		}
	}
	ymax = niceCeil(ymax)
	xmax = max(xmax, 1)
	px := func(x float64) float64 { return padL + x/xmax*float64(chartW-padL-padR) }
	py := func(y float64) float64 { return float64(chartH-padB) - y/ymax*float64(chartH-padT-padB) }
	axes(&b, ymax, func(i int) (float64, string) {
		v := xmax * float64(i) / 5
		return px(v), fmt.Sprintf("%.0f%s", v, xunit)
	}, py)
	for i, l := range ls {
		var pts []string
		for j, y := range l.ys {
			if j < len(xs) {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(xs[j]), py(y)))
			}
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.6" points="%s"/>`, l.color, strings.Join(pts, " "))
		legend(&b, i, l.name, l.color)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

type spectrumLine struct {
	name, color string
	pts         []SpectrumPoint
}

// spectrumChart is the latency distribution: value against percentile, x
// on a log scale of 1/(1-p) so the tail gets the room.
func spectrumChart(ls []spectrumLine) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg width="%d" height="%d" viewBox="0 0 %d %d" xmlns="http://www.w3.org/2000/svg">`, chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<text x="%d" y="18" style="font-weight:bold;font-size:13px">Latency distribution (ms by percentile)</text>`, padL)
	const maxNines = 5 // up to 99.999
	xv := func(p float64) float64 { return math.Min(-math.Log10(math.Max(1-p/100, 1e-5)), maxNines) }
	ymax := 0.0
	for _, l := range ls {
		for _, p := range l.pts {
			ymax = max(ymax, p.Ms)
		}
	}
	ymax = niceCeil(ymax)
	px := func(x float64) float64 { return padL + x/maxNines*float64(chartW-padL-padR) }
	py := func(y float64) float64 { return float64(chartH-padB) - y/ymax*float64(chartH-padT-padB) }
	labels := []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%"}
	axes(&b, ymax, func(i int) (float64, string) { return px(float64(i)), labels[i] }, py)
	k := 0
	for _, l := range ls {
		if len(l.pts) == 0 {
			continue
		}
		var pts []string
		for _, p := range l.pts {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(xv(p.Percentile)), py(p.Ms)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.6" points="%s"/>`, l.color, strings.Join(pts, " "))
		legend(&b, k, l.name, l.color)
		k++
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// axes draws the frame, five y grid lines and six x ticks.
func axes(b *strings.Builder, ymax float64, xtick func(i int) (float64, string), py func(float64) float64) {
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#ccc"/>`, padL, padT, chartW-padL-padR, chartH-padT-padB)
	for i := 0; i <= 5; i++ {
		y := ymax * float64(i) / 5
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/>`, padL, chartW-padR, py(y), py(y))
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`, padL-6, py(y)+4, short(y))
		x, label := xtick(i)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x, chartH-padB+16, label)
	}
}

func legend(b *strings.Builder, i int, name, color string) {
	y := padT + 8 + i*18
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="14" height="4" fill="%s"/><text x="%d" y="%d">%s</text>`,
		chartW-padR+12, y, color, chartW-padR+32, y+5, template.HTMLEscapeString(name))
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func short(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 10 || v == 0:
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2g", v)
}
