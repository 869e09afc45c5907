package limiter_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/limiter"
)

func Example() {
	l := limiter.New(limiter.WithLimits(limiter.Limits{Requests: 50, OutputTokens: 8000, Tokens: 30000}))
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
	_ = r.Settle(limiter.Spent{InputTokens: 480, OutputTokens: 200})
	// (What is used of a bucket moves with the clock as it refills; the
	// limits and what is in flight do not.)
	st := l.StatsFor("key/claude-sonnet-4-6")
	fmt.Printf("output tokens limit: %d, in flight: %d\n", st.Limits[limiter.OutputTokens], st.InFlight)

	// Anthropic counts output as it is generated: max_tokens above the
	// limit is no reason to refuse, and what is reserved is what the key's
	// responses have been generating.
	r, err = l.Acquire(ctx, "key/claude-sonnet-4-6", limiter.Request{
		Model: "claude-sonnet-4-6", InputBytes: 2000, MaxOutputTokens: 16000,
	})
	fmt.Println("max_tokens 16000, reserved output tokens:", r.Cost()[limiter.OutputTokens], err)
	_ = r.Settle(limiter.Spent{InputTokens: 480, OutputTokens: 190})

	// OpenAI counts max_tokens at admission and refuses a request whose
	// max_tokens exceed its tokens limit: that one fails at once.
	_, err = l.Acquire(ctx, "key/gpt-5", limiter.Request{
		Model: "gpt-5", InputBytes: 2000, MaxOutputTokens: 40000, Output: limiter.OutputAtMaxTokens,
	})
	fmt.Println(errors.Is(err, limiter.ErrExceedsCapacity))
	// Output:
	// reserved output tokens: 1024
	// output tokens limit: 8000, in flight: 0
	// max_tokens 16000, reserved output tokens: 200 <nil>
	// true
}

func ExampleLimiter_Cooldown() {
	l := limiter.New()
	defer l.Close()
	// A 429 said "retry after 60s": nothing for this key goes out before,
	// and a call that cannot wait that long is told so at once.
	_ = l.Cooldown(context.Background(), "k", time.Now().Add(time.Minute))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := l.Acquire(ctx, "k", limiter.Request{})
	var we *limiter.WaitError
	fmt.Println(errors.As(err, &we), we.Reason)
	// Output: true cooldown
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
