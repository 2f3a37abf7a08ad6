package console

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"strings"
	"time"

	"github.com/hookflow/hookflow/ingress/dorametrics"
)

// The DORA trends: the four metrics of the last 30 days per repository
// and environment (what `hookflow dora report` prints), and deployments
// per week over the last twelve weeks, failed ones marked, as an SVG bar
// chart drawn here. Each week is one report of the DORA tables, so the
// chart counts exactly what the report counts.

const (
	doraWeeks      = 12
	doraWindowDays = 30
)

// doraWeek is one week of the chart, summed over every repository and
// environment.
type doraWeek struct {
	Start       time.Time
	Deployments int
	Failed      int
}

// ChangeFailureRate is Failed over Deployments, or nil without
// deployments.
func (w doraWeek) ChangeFailureRate() *float64 {
	if w.Deployments == 0 {
		return nil
	}
	r := float64(w.Failed) / float64(w.Deployments)
	return &r
}

type doraData struct {
	Since, Until time.Time
	Repositories []dorametrics.Metrics
	Weeks        []doraWeek
}

// doraWeeks reports each of the last doraWeeks weeks ending at now,
// oldest first.
func (h *Handler) doraWeeks(ctx context.Context, now time.Time) ([]doraWeek, error) {
	end := now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	out := make([]doraWeek, doraWeeks)
	for i := range out {
		since := end.AddDate(0, 0, -7*(doraWeeks-i))
		rep, err := h.cfg.Backend.DORAReport(ctx, dorametrics.Query{Since: since, Until: since.AddDate(0, 0, 7)})
		if err != nil {
			return nil, err
		}
		out[i].Start = since
		for _, m := range rep.Repositories {
			out[i].Deployments += m.Deployments
			out[i].Failed += m.FailedDeployments
		}
	}
	return out, nil
}

func (h *Handler) doraPage(w http.ResponseWriter, r *http.Request, ss *session) {
	now := h.cfg.Now()
	rep, err := h.cfg.Backend.DORAReport(r.Context(), dorametrics.Query{Since: now.AddDate(0, 0, -doraWindowDays), Until: now})
	if err != nil {
		h.fail(w, r, ss, err)
		return
	}
	weeks, err := h.doraWeeks(r.Context(), now)
	if err != nil {
		h.fail(w, r, ss, err)
		return
	}
	h.render(w, r, ss, http.StatusOK, "dora", "DORA metrics", doraData{Since: rep.Since, Until: rep.Until, Repositories: rep.Repositories, Weeks: weeks})
}

func (h *Handler) doraChart(w http.ResponseWriter, r *http.Request, _ *session) {
	weeks, err := h.doraWeeks(r.Context(), h.cfg.Now())
	if err != nil {
		h.log.ErrorContext(r.Context(), "console DORA chart failed", "error", err)
		http.Error(w, "chart unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	_, _ = w.Write([]byte(drawDORAChart(weeks)))
}

// drawDORAChart draws deployments per week: succeeded in green, failed
// (what the change failure rate counts) in red on top.
func drawDORAChart(weeks []doraWeek) string {
	const width, height, left, bottom, top = 720, 220, 40, 30, 10
	peak := 1
	for _, wk := range weeks {
		peak = max(peak, wk.Deployments)
	}
	plotH := float64(height - bottom - top)
	barW := float64(width-left-10) / float64(len(weeks))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-labelledby="t">`, width, height+24, width, height+24)
	fmt.Fprintf(&b, `<title id="t">Deployments per week, last %d weeks (peak %d)</title>`, len(weeks), peak)
	b.WriteString(`<style>text{font:11px sans-serif;fill:#333}</style>`)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/>`, left, height-bottom, width-10, height-bottom)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%d</text><text x="%d" y="%d" text-anchor="end">0</text>`, left-4, top+8, peak, left-4, height-bottom)
	for i, wk := range weeks {
		x := float64(left) + float64(i)*barW
		y := float64(height - bottom)
		label := wk.Start.Format("Jan 2")
		for _, part := range []struct {
			n     int
			fill  string
			label string
		}{{wk.Deployments - wk.Failed, "#2ca02c", "succeeded"}, {wk.Failed, "#d62728", "failed"}} {
			if part.n <= 0 {
				continue
			}
			bh := plotH * float64(part.n) / float64(peak)
			y -= bh
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>week of %s, %s: %d</title></rect>`,
				x+2, y, barW-4, bh, part.fill, html.EscapeString(label), part.label, part.n)
		}
		if i%2 == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`, x+2, height-bottom+14, html.EscapeString(label))
		}
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="#2ca02c"/><text x="%d" y="%d">succeeded</text>`, left, height+4, left+14, height+13)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="#d62728"/><text x="%d" y="%d">failed (change failure rate)</text>`, left+110, height+4, left+124, height+13)
	b.WriteString(`</svg>`)
	return b.String()
}
