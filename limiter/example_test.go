package limiter_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/limiter"
)

func Example() {
	// A day's window keeps this example's levels still while it runs; the
	// providers' is a minute.
	l := limiter.New(limiter.WithLimits(limiter.Limits{Requests: 50, OutputTokens: 8000, Tokens: 30000}),
		limiter.WithWindow(24*time.Hour))
	defer l.Close()
	ctx := context.Background()

	r, err := l.Acquire(ctx, "key/claude-sonnet-4-6", limiter.Request{
		Model: "claude-sonnet-4-6", InputBytes: 2000, MaxOutputTokens: 1024,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("reserved output tokens:", r.Cost()[limiter.OutputTokens])
	// ... send the request; the provider reports its usage ...
	_ = r.Settle(limiter.Usage{InputTokens: 480, OutputTokens: 200})
	st := l.StatsFor("key/claude-sonnet-4-6")
	fmt.Printf("output tokens used: %.0f of %d\n", st.Used[limiter.OutputTokens], st.Limits[limiter.OutputTokens])

	// Anthropic counts output as it is generated: max_tokens above the
	// limit is no reason to refuse, and what is reserved is what the key's
	// responses have been generating.
	r, err = l.Acquire(ctx, "key/claude-sonnet-4-6", limiter.Request{
		Model: "claude-sonnet-4-6", InputBytes: 2000, MaxOutputTokens: 16000,
	})
	fmt.Println("max_tokens 16000, reserved output tokens:", r.Cost()[limiter.OutputTokens], err)
	_ = r.Settle(limiter.Usage{InputTokens: 480, OutputTokens: 190})

	// OpenAI counts max_tokens at admission and refuses a request whose
	// max_tokens exceed its tokens limit: that one fails at once.
	_, err = l.Acquire(ctx, "key/gpt-5", limiter.Request{
		Model: "gpt-5", InputBytes: 2000, MaxOutputTokens: 40000, Output: limiter.OutputAtMaxTokens,
	})
	fmt.Println(errors.Is(err, limiter.ErrExceedsCapacity))
	// Output:
	// reserved output tokens: 1024
	// output tokens used: 200 of 8000
	// max_tokens 16000, reserved output tokens: 200 <nil>
	// true
}

func ExampleLimiter_Cooldown() {
	l := limiter.New()
	defer l.Close()
	// A 429 said "retry after 50ms": nothing for this key goes out before.
	_ = l.Cooldown(context.Background(), "k", time.Now().Add(50*time.Millisecond))
	r, _ := l.Acquire(context.Background(), "k", limiter.Request{})
	waited, reason := r.Waited()
	r.Release()
	fmt.Println(reason, waited >= 40*time.Millisecond)
	// Output: cooldown true
}

// A caller marks background work as Batch on its context; the transport
// layer reads it with PriorityFrom into Request.Priority, so that every
// queued Interactive acquire of a key goes first.
func ExampleContextWithPriority() {
	ctx := limiter.ContextWithPriority(context.Background(), limiter.Batch)
	fmt.Println(limiter.PriorityFrom(ctx) == limiter.Batch)
	fmt.Println(limiter.PriorityFrom(context.Background()) == limiter.Interactive)
	// Output:
	// true
	// true
}
