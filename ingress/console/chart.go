package console

import (
	"fmt"
	"html"
	"net/http"
	"strings"
	"time"

	"github.com/hookflow/hookflow/ingress/journal"
)

// The chart: deliveries per status per hour over the last day, as
// stacked bars drawn here, in SVG, so that it needs no script and no
// library. Its numbers are in the <title> of each bar (screen readers
// and tooltips) and in the table beside it on the deliveries page.

const (
	chartHours = 24
	// chartMax bounds the deliveries one chart reads.
	chartMax = 20000
)

// chartColors are the statuses' colours (distinct in greyscale too).
var chartColors = map[journal.Status]string{
	journal.Accepted: "#1f77b4", journal.Forwarded: "#2ca02c", journal.Ignored: "#bbbbbb",
	journal.Duplicate: "#9467bd", journal.Rejected: "#d62728", journal.Failed: "#ff7f0e",
}

// hourCounts counts deliveries per hour (oldest first) and status.
func hourCounts(entries []journal.Entry, now time.Time) []map[journal.Status]int {
	start := now.Truncate(time.Hour).Add(-(chartHours - 1) * time.Hour)
	out := make([]map[journal.Status]int, chartHours)
	for i := range out {
		out[i] = map[journal.Status]int{}
	}
	for _, e := range entries {
		i := int(e.Event.ReceivedAt.Sub(start) / time.Hour)
		if i >= 0 && i < chartHours {
			out[i][e.Status]++
		}
	}
	return out
}

func (h *Handler) chart(w http.ResponseWriter, r *http.Request, ss *session) {
	now := h.cfg.Now()
	entries, err := h.cfg.Backend.Deliveries(r.Context(), journal.Filter{Since: now.Truncate(time.Hour).Add(-(chartHours - 1) * time.Hour), Limit: chartMax})
	if err != nil {
		h.log.ErrorContext(r.Context(), "console chart failed", "error", err)
		http.Error(w, "chart unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	_, _ = w.Write([]byte(drawChart(hourCounts(entries, now), now)))
}

// drawChart draws counts (one map per hour, oldest first, ending at now's
// hour).
func drawChart(counts []map[journal.Status]int, now time.Time) string {
	const width, height, left, bottom, top = 720, 220, 40, 30, 10
	peak := 1
	for _, c := range counts {
		n := 0
		for _, v := range c {
			n += v
		}
		peak = max(peak, n)
	}
	plotH := float64(height - bottom - top)
	barW := float64(width-left-10) / float64(len(counts))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-labelledby="t">`, width, height+24, width, height+24)
	fmt.Fprintf(&b, `<title id="t">Deliveries per status per hour, last %d hours (peak %d)</title>`, len(counts), peak)
	fmt.Fprintf(&b, `<style>text{font:11px sans-serif;fill:#333}</style>`)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/>`, left, height-bottom, width-10, height-bottom)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%d</text><text x="%d" y="%d" text-anchor="end">0</text>`, left-4, top+8, peak, left-4, height-bottom)
	start := now.Truncate(time.Hour).Add(-time.Duration(len(counts)-1) * time.Hour)
	for i, c := range counts {
		x := float64(left) + float64(i)*barW
		y := float64(height - bottom)
		hour := start.Add(time.Duration(i) * time.Hour).UTC()
		for _, st := range statuses {
			n := c[st]
			if n == 0 {
				continue
			}
			bh := plotH * float64(n) / float64(peak)
			y -= bh
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %d</title></rect>`,
				x+1, y, barW-2, bh, chartColors[st], hour.Format("15:04Z"), html.EscapeString(string(st)), n)
		}
		if i%4 == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`, x, height-bottom+14, hour.Format("15:04"))
		}
	}
	lx := left
	for _, st := range statuses {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">%s</text>`, lx, height+4, chartColors[st], lx+14, height+13, html.EscapeString(string(st)))
		lx += 95
	}
	b.WriteString(`</svg>`)
	return b.String()
}
