package transport_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/sluicehq/sluice/transport"
)

// An overloaded API trips the breaker; with BreakerSettings.FailFast the next call is
// refused at once, without reaching the network.
func ExampleBreaker() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(529) // overloaded
	}))
	defer api.Close()

	client := &http.Client{Transport: transport.Breaker(api.Client().Transport,
		transport.BreakerSettings{MinRequests: 3, Break: 5 * time.Second, FailFast: true})}
	post := func() error {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, api.URL+"/v1/messages",
			strings.NewReader(`{"model":"claude-x","max_tokens":10,"messages":[]}`))
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	for range 3 {
		post() // three 529s
	}
	err := post()
	var open *transport.BreakerOpenError
	fmt.Println(errors.As(err, &open), errors.Is(err, transport.ErrBreakerOpen), open.Reason)
	// Output: true true fail_fast
}
