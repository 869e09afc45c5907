package bench

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// breakerLog is a slog.Handler that keeps the moments sluice's breaker
// changed state (its "circuit breaker state changed" records), so the
// outage benchmark can tell which server arrivals came while it was open.
type breakerLog struct {
	mu      sync.Mutex
	changes []breakerChange
}

type breakerChange struct {
	at time.Time
	to string // "closed", "half-open" or "open"
}

func (l *breakerLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *breakerLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *breakerLog) WithGroup(string) slog.Handler            { return l }

func (l *breakerLog) Handle(_ context.Context, r slog.Record) error {
	to := ""
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "to" {
			to = a.Value.String()
		}
		return true
	})
	if to == "" {
		return nil // not a state change
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.changes = append(l.changes, breakerChange{r.Time, to})
	return nil
}

// openAt reports whether the breaker was open at t (changes arrive in
// order of time, from one breaker key in this scenario).
func (l *breakerLog) openAt(t time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	open := false
	for _, c := range l.changes {
		if c.at.After(t) {
			break
		}
		open = c.to == "open"
	}
	return open
}

// opens counts the transitions to open.
func (l *breakerLog) opens() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, c := range l.changes {
		if c.to == "open" {
			n++
		}
	}
	return n
}
