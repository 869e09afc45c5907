package transport

import (
	"context"
	"testing"
	"time"
)

// waitFor polls cond until it holds or the deadline passes.
func retryWaitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met before the deadline")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRetryCooldownHoldsOtherRequests(t *testing.T) {
	srv := newRetryServer(t, retryRateLimited("1500"), retryOK)
	c, _ := retryClient(t, WithServerDelayJitter(0, 0))
	rt := c.Transport.(*retryTransport)

	first := make(chan error, 1)
	go func() {
		resp, err := retryPost(t, c, context.Background(), srv.URL, retryJSON)
		if err == nil {
			resp.Body.Close()
		}
		first <- err
	}()
	// Once the 429 has set the cool-down, start a second call to the same
	// host and model, and a third to another model.
	retryWaitFor(t, 5*time.Second, rt.cool.active)
	cooledAt := time.Now()
	other := `{"model":"another-model","max_tokens":1}`
	otherDone := make(chan time.Duration, 1)
	go func() {
		resp, err := retryPost(t, c, context.Background(), srv.URL, other)
		if err == nil {
			resp.Body.Close()
		}
		otherDone <- time.Since(cooledAt)
	}()
	resp, err := retryPost(t, c, context.Background(), srv.URL, retryJSON)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if d := <-otherDone; d > time.Second {
		t.Fatalf("a request for another model waited %v; the cool-down is per model", d)
	}
	// Every request to the cooled key arrived no earlier than the moment
	// the server named (server-side times: 429 sent at arrivals[0]).
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.arrivals) != 4 {
		t.Fatalf("%d arrivals, want 4 (429, retry, held call, other model)", len(srv.arrivals))
	}
	early := 0
	for _, a := range srv.arrivals[1:] {
		if a.Sub(srv.arrivals[0]) < 1500*time.Millisecond {
			early++
		}
	}
	if early != 1 { // only the other model's request
		t.Fatalf("%d requests arrived inside the cool-down, want only the other model's", early)
	}
}

func TestCooldownDeadlineTooSoon(t *testing.T) {
	srv := newRetryServer(t, retryRateLimited("2000"), retryOK)
	c, _ := retryClient(t, WithMaxAttempts(1))
	rt := c.Transport.(*retryTransport)
	resp, err := retryPost(t, c, context.Background(), srv.URL, retryJSON)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !rt.cool.active() {
		t.Fatal("a 429 with a server delay must set the cool-down even when not retried")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = retryPost(t, c, ctx, srv.URL, retryJSON)
	if !retryErrorsIs(err, ErrDeadlineTooSoon) || srv.count() != 1 {
		t.Fatalf("err = %v after %d arrivals, want ErrDeadlineTooSoon and nothing sent", err, srv.count())
	}
}
