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
	"testing/synctest"
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
// dropped once two sweeps (one per window at most) found them unused; an
// open breaker and one with a call in flight are kept, and a dropped
// tenant that calls again gets a new breaker.
func TestIdleBreakersArePruned(t *testing.T) {
	synctest.Test(t, testIdleBreakersArePruned)
}

func testIdleBreakersArePruned(t *testing.T) {
	srv := newBreakerServer(t)
	hold := &holdTenant{next: srv.Transport(t), tenant: "busy", held: make(chan struct{}), release: make(chan struct{})}
	window := 100 * time.Millisecond
	rt := Breaker(hold, BreakerSettings{FailureRatio: 0.5, MinRequests: 2, Window: window, Break: time.Minute,
		FailFast: true,
		Key:      func(r *http.Request, _ RequestFields) string { return r.Header.Get("X-Tenant") }})
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
	// sweep lets a window pass, then makes enough lookups (a live tenant's
	// calls) for exactly one sweep.
	sweep := func() {
		time.Sleep(window)
		for range pruneEvery {
			call("live")
		}
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
	if n := len(keys()); n != 302 {
		t.Fatalf("%d breakers after 302 tenants called in one instant, want every one", n)
	}

	// The tenants' last calls straddle the sweep their lookups made: two
	// more sweeps drop the earlier ones, a third the rest.
	for range 3 {
		sweep()
	}
	if got, want := keys(), []string{"busy", "down", "live"}; !slices.Equal(got, want) {
		t.Fatalf("after three sweeps: %d breakers, want %v", len(got), want)
	}
	if _, err := call("down"); !errors.Is(err, ErrBreakerOpen) {
		t.Fatalf("the open breaker was forgotten: %v", err)
	}

	release.Do(func() { close(hold.release) })
	if err := <-busy; err != nil {
		t.Fatal(err)
	}
	busy <- nil // for the cleanup
	sweep()
	if !slices.Contains(keys(), "busy") {
		t.Fatal("the busy tenant's breaker went at the first sweep after its call ended, want the second")
	}
	sweep()
	if got := keys(); !slices.Equal(got, []string{"down", "live"}) {
		t.Fatalf("two sweeps after the busy call ended: %v, want [down live]", got)
	}
	if code, err := call("t7"); code != 200 {
		t.Fatalf("a dropped tenant calling again: %d, %v", code, err)
	}
}
