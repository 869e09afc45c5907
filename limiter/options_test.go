package limiter_test

import (
	"context"
	"testing"

	"github.com/sluicehq/sluice/limiter"
)

func TestContextWithPriority(t *testing.T) {
	type other struct{}
	for _, c := range []struct {
		name string
		ctx  context.Context
		want limiter.Priority
	}{
		{"none", context.Background(), limiter.Interactive},
		{"interactive", limiter.ContextWithPriority(context.Background(), limiter.Interactive), limiter.Interactive},
		{"batch", limiter.ContextWithPriority(context.Background(), limiter.Batch), limiter.Batch},
		{"batch, then a derived context", context.WithValue(limiter.ContextWithPriority(context.Background(), limiter.Batch), other{}, 1), limiter.Batch},
		{"batch overridden", limiter.ContextWithPriority(limiter.ContextWithPriority(context.Background(), limiter.Batch), limiter.Interactive), limiter.Interactive},
	} {
		if got := limiter.PriorityFrom(c.ctx); got != c.want {
			t.Errorf("%s: PriorityFrom = %d, want %d", c.name, got, c.want)
		}
	}
}
