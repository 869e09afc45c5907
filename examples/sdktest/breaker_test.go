package sdktest

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"

	"github.com/sluicehq/sluice/llmtest"
	"github.com/sluicehq/sluice/transport"
)

// breakerClients are both SDKs over one Breaker on srv.
func breakerClients(srv *llmtest.Server, retries int, s transport.BreakerSettings) (anthropic.Client, openai.Client) {
	hc := &http.Client{Transport: transport.Breaker(srv.Client().Transport, s)}
	a := anthropic.NewClient(aoption.WithBaseURL(srv.URL), aoption.WithAPIKey("sk-ant-test"),
		aoption.WithHTTPClient(hc), aoption.WithMaxRetries(retries), aoption.WithoutOpenTelemetry())
	o := openai.NewClient(ooption.WithBaseURL(srv.URL+"/v1/"), ooption.WithAPIKey("sk-test"),
		ooption.WithHTTPClient(hc), ooption.WithMaxRetries(retries))
	return a, o
}

// breakerCalls returns one call per SDK (each SDK a breaker key of its own).
func breakerCalls(a anthropic.Client, o openai.Client) map[string]func(context.Context) error {
	return map[string]func(context.Context) error{
		"anthropic": func(ctx context.Context) error {
			_, err := a.Messages.New(ctx, meterAnthropicParams(8, "hello"))
			return err
		},
		"openai": func(ctx context.Context) error {
			_, err := o.Chat.Completions.New(ctx, meterChatParams(8, "hello"))
			return err
		},
	}
}

var breakerTestSettings = transport.BreakerSettings{FailureRatio: 0.5, MinRequests: 4, Window: time.Minute, Break: time.Second}

// TestBreakerRidesOutAnOutage tells the story of the issue through both
// SDKs: an outage trips the breakers; while they are open no request but
// the probes reaches the server; a call whose deadline cannot wait fails at
// once with a *BreakerOpenError; the calls that can wait succeed after the
// outage, through a half-open probe.
func TestBreakerRidesOutAnOutage(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Config{})
	defer srv.Close()
	a, o := breakerClients(srv, 0, breakerTestSettings)
	calls := breakerCalls(a, o)

	srv.StartOutage(800*time.Millisecond, 529)
	for name, call := range calls {
		for range 4 {
			var apiErr *anthropic.Error
			var oaiErr *openai.Error
			if err := call(context.Background()); !errors.As(err, &apiErr) && !errors.As(err, &oaiErr) {
				t.Fatalf("%s during the outage: %v, want the API's 529", name, err)
			}
		}
	}
	tripped := time.Now()
	atTrip := srv.Stats().Arrivals

	for name, call := range calls {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		start := time.Now()
		err := call(ctx)
		cancel()
		var boe *transport.BreakerOpenError
		if !errors.As(err, &boe) || !errors.Is(err, transport.ErrBreakerOpen) || boe.Reason != "deadline" {
			t.Fatalf("%s with a short deadline: %v, want a *BreakerOpenError", name, err)
		}
		if d := time.Since(start); d > 150*time.Millisecond {
			t.Fatalf("%s: the refusal took %v, want at once", name, d)
		}
		if !boe.RetryAt.After(tripped) {
			t.Fatalf("RetryAt %v is not after the trip", boe.RetryAt)
		}
	}

	const perSDK = 5
	var wg sync.WaitGroup
	errs := make(chan error, 2*perSDK)
	for _, call := range calls {
		for range perSDK {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				errs <- call(ctx)
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a call that could wait failed: %v", err)
		}
	}
	if n := srv.Stats().Arrivals - atTrip; n != 2*perSDK {
		t.Fatalf("%d arrivals after the trip, want only the %d waiting calls", n, 2*perSDK)
	}
	for _, r := range srv.Requests() {
		if r.Time.After(tripped) && r.Time.Before(tripped.Add(breakerTestSettings.Break*9/10)) {
			t.Fatalf("a request reached the server %v after the trip, while the breaker was open", r.Time.Sub(tripped))
		}
	}
}

// TestBreakerWithSDKRetries: with the SDKs' default two retries, an open
// breaker's error is a transport error the SDK retries — each retry is
// refused again without reaching the network — and the caller still gets
// the *BreakerOpenError, only later.
func TestBreakerWithSDKRetries(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Config{})
	defer srv.Close()
	settings := breakerTestSettings
	settings.Break, settings.MinRequests, settings.FailFast = time.Minute, 3, true
	a, o := breakerClients(srv, 2, settings)
	srv.StartOutage(time.Minute, 529)
	for name, call := range breakerCalls(a, o) {
		call(context.Background()) // 3 attempts, 3 × 529: the breaker trips
		before := srv.Stats().Arrivals
		start := time.Now()
		err := call(context.Background())
		var boe *transport.BreakerOpenError
		if !errors.As(err, &boe) {
			t.Fatalf("%s: %v, want a *BreakerOpenError through the SDK", name, err)
		}
		if n := srv.Stats().Arrivals - before; n != 0 {
			t.Fatalf("%s: %d requests reached the server through an open breaker", name, n)
		}
		t.Logf("%s: the SDK's retries of the refusal took %v", name, time.Since(start).Round(time.Millisecond))
	}
}

// TestStackFailFastThroughSDKs: transport.New with BreakerSettings.FailFast,
// the API down, through both SDKs as documented (WithMaxRetries(0)). Once
// the breaker is open, a call returns a *BreakerOpenError at once — the
// retry layer does not retry a local refusal — and sends nothing.
func TestStackFailFastThroughSDKs(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Config{})
	defer srv.Close()
	tr := transport.New(nil, transport.WithBreaker(transport.BreakerSettings{FailFast: true}),
		transport.WithRetry(transport.RetrySettings{InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}),
		transport.WithLogger(slog.New(slog.DiscardHandler)))
	defer tr.Close()
	hc := &http.Client{Transport: tr}
	a := anthropic.NewClient(aoption.WithBaseURL(srv.URL), aoption.WithAPIKey("sk-ant-test"),
		aoption.WithHTTPClient(hc), aoption.WithMaxRetries(0), aoption.WithoutOpenTelemetry())
	o := openai.NewClient(ooption.WithBaseURL(srv.URL+"/v1/"), ooption.WithAPIKey("sk-test"),
		ooption.WithHTTPClient(hc), ooption.WithMaxRetries(0))
	srv.StartOutage(time.Minute, 529)

	for name, call := range breakerCalls(a, o) {
		var boe *transport.BreakerOpenError
		tripCalls := 0
		for !errors.As(call(context.Background()), &boe) {
			if tripCalls++; tripCalls == 200 {
				t.Fatalf("%s: the breaker did not open in 200 calls against a down API", name)
			}
		}
		before := srv.Stats().Arrivals
		var took []time.Duration
		for range 20 {
			start := time.Now()
			err := call(context.Background())
			took = append(took, time.Since(start))
			if !errors.As(err, &boe) || !errors.Is(err, transport.ErrBreakerOpen) || boe.Reason != "fail_fast" {
				t.Fatalf("%s with the breaker open: %v, want a fail_fast *BreakerOpenError", name, err)
			}
		}
		if n := srv.Stats().Arrivals - before; n != 0 {
			t.Fatalf("%s: %d requests reached the server through an open breaker", name, n)
		}
		slices.Sort(took)
		t.Logf("%s: open after %d calls; refused calls took median %v, max %v", name, tripCalls+1, took[len(took)/2], took[len(took)-1])
		// The target is < 10 ms; the bounds are wide for a shared machine
		// under the race detector (the old behaviour took seconds).
		if took[len(took)/2] > 10*time.Millisecond || took[len(took)-1] > 250*time.Millisecond {
			t.Fatalf("%s: refused calls took median %v, max %v; want at once", name, took[len(took)/2], took[len(took)-1])
		}
	}
}
