package transport

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// holdTenant is a RoundTripper that holds the calls of one tenant until
// release is closed.
type holdTenant struct {
	next    http.RoundTripper
	tenant  string
	held    chan struct{}
	release chan struct{}
}

func (h *holdTenant) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("X-Tenant") == h.tenant {
		close(h.held)
		<-h.release
	}
	return h.next.RoundTrip(req)
}

// With a key per tenant, the breakers of tenants that stopped calling are
// dropped; an open breaker and one with a call in flight are kept, and a
// dropped tenant that calls again gets a new breaker.
func TestIdleBreakersArePruned(t *testing.T) {
	srv := newBreakerServer(t)
	hold := &holdTenant{next: srv.Client().Transport, tenant: "busy", held: make(chan struct{}), release: make(chan struct{})}
	window := 100 * time.Millisecond
	rt := Breaker(hold, WithFailFast(),
		WithBreakerKey(func(r *http.Request) string { return r.Header.Get("X-Tenant") }),
		WithBreakerSettings(BreakerSettings{FailureRatio: 0.5, MinRequests: 2, Window: window, Break: time.Minute}))
	b := rt.(*breakerTransport)
	call := func(tenant string) (int, error) {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/v1/messages", strings.NewReader(`{"model":"m"}`))
		req.Header.Set("X-Tenant", tenant)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	keys := func() []string {
		b.mu.Lock()
		defer b.mu.Unlock()
		var k []string
		for key := range b.entries {
			k = append(k, key)
		}
		slices.Sort(k)
		return k
	}

	srv.status.Store(500)
	for range 2 {
		call("down")
	}
	srv.status.Store(200)
	if _, err := call("down"); !errors.Is(err, ErrBreakerOpen) {
		t.Fatalf("the down tenant's breaker did not open: %v", err)
	}
	busy := make(chan error, 1)
	go func() { _, err := call("busy"); busy <- err }()
	<-hold.held
	var release sync.Once
	t.Cleanup(func() { release.Do(func() { close(hold.release) }); <-busy })
	for i := range 300 {
		if code, err := call("t" + strconv.Itoa(i)); code != 200 {
			t.Fatalf("tenant %d: %d, %v", i, code, err)
		}
	}
	if n := len(keys()); n < 100 {
		// A window is 100 ms: on a slow machine the first tenants' breakers
		// may already be gone, but not most of them.
		t.Fatalf("%d breakers after 303 tenants called", n)
	}

	want := []string{"busy", "down", "live"}
	breakerWaitFor(t, 20*time.Second, "the idle tenants' breakers to go", func() bool {
		call("live")
		time.Sleep(time.Millisecond)
		return slices.Equal(keys(), want)
	})
	if _, err := call("down"); !errors.Is(err, ErrBreakerOpen) {
		t.Fatalf("the open breaker was forgotten: %v", err)
	}

	release.Do(func() { close(hold.release) })
	if err := <-busy; err != nil {
		t.Fatal(err)
	}
	busy <- nil // for the cleanup
	breakerWaitFor(t, 20*time.Second, "the busy tenant's breaker to go once its call ended", func() bool {
		call("live")
		time.Sleep(time.Millisecond)
		return slices.Equal(keys(), []string{"down", "live"})
	})
	if code, err := call("t7"); code != 200 {
		t.Fatalf("a dropped tenant calling again: %d, %v", code, err)
	}
}
