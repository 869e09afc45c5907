package jaegerproc

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Children returns the spans of t by parent span ID ("" for roots), each
// list sorted by start time.
func (t Trace) Children() map[string][]Span {
	kids := map[string][]Span{}
	ids := map[string]bool{}
	for _, s := range t.Spans {
		ids[s.SpanID] = true
	}
	for _, s := range t.Spans {
		p := s.Parent()
		if !ids[p] {
			p = "" // parent not in this trace: treat as a root
		}
		kids[p] = append(kids[p], s)
	}
	for _, l := range kids {
		sort.Slice(l, func(i, j int) bool { return l[i].StartTime < l[j].StartTime })
	}
	return kids
}

// Print writes t as an indented tree with durations, selected attributes
// and span events (Jaeger "logs").
func (t Trace) Print(w io.Writer) {
	kids := t.Children()
	var walk func(s Span, depth int)
	walk = func(s Span, depth int) {
		ind := strings.Repeat("  ", depth)
		fmt.Fprintf(w, "%s%s  %v%s\n", ind, s.OperationName,
			(time.Duration(s.Duration) * time.Microsecond).Round(100*time.Microsecond), tagSummary(s))
		for _, l := range s.Logs {
			at := time.Duration(l.Timestamp-s.StartTime) * time.Microsecond
			fmt.Fprintf(w, "%s  · +%v %s\n", ind, at.Round(100*time.Microsecond), fieldSummary(l.Fields))
		}
		for _, k := range kids[s.SpanID] {
			walk(k, depth+1)
		}
	}
	for _, r := range kids[""] {
		walk(r, 0)
	}
}

// summaryKeys are the attributes Print shows, in order.
var summaryKeys = []string{
	"http.response.status_code", "http.request.resend_count", "error.type",
	"gen_ai.request.model", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
	"sluice.attempts", "sluice.retries",
}

func tagSummary(s Span) string {
	var b strings.Builder
	for _, k := range summaryKeys {
		if v := s.Tag(k); v != nil {
			fmt.Fprintf(&b, " %s=%v", k, v)
		}
	}
	return b.String()
}

func fieldSummary(fields []KV) string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		if f.Key == "event" {
			fmt.Fprintf(&b, "%v", f.Value)
			continue
		}
		fmt.Fprintf(&b, "%s=%v", f.Key, f.Value)
	}
	return b.String()
}
