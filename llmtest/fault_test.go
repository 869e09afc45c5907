package llmtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestInjectStatus(t *testing.T) {
	s := newTestServer(t, Config{})
	s.Inject(
		Fault{Kind: FaultStatus, Status: 529, Count: 2},
		Fault{Kind: FaultStatus, Status: 429, ShouldRetry: "false", RetryAfter: "7", ErrorCode: "insufficient_quota", Path: "/chat/completions"},
	)
	for i := range 2 {
		res, b := post(t, s, "/v1/messages", "k", anthropicBody("m", "hi", 5, false))
		if res.StatusCode != 529 || !strings.Contains(string(b), `"type":"overloaded_error"`) {
			t.Errorf("request %d: %d %s", i, res.StatusCode, b)
		}
	}
	// The 429 fault only matches chat completions.
	if res, _ := post(t, s, "/v1/messages", "k", anthropicBody("m", "hi", 5, false)); res.StatusCode != 200 {
		t.Errorf("third messages request: %d", res.StatusCode)
	}
	res, b := post(t, s, "/v1/chat/completions", "k", openAIBody("g", "hi", 0, false, false))
	var e struct{ Error struct{ Type, Code string } }
	_ = json.Unmarshal(b, &e)
	if res.StatusCode != 429 || e.Error.Code != "insufficient_quota" || res.Header.Get("x-should-retry") != "false" || res.Header.Get("retry-after") != "7" {
		t.Errorf("chat fault: %d %v %s", res.StatusCode, res.Header, b)
	}
	st := s.Stats()
	if st.ByStatus[529] != 2 || st.RateLimited != 1 || st.ByStatus[200] != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestFaultReset(t *testing.T) {
	s := newTestServer(t, Config{})
	s.Inject(Fault{Kind: FaultReset})
	_, err := s.Client().Post(s.URL+"/v1/messages", "application/json", bytes.NewReader(anthropicBody("m", "hi", 5, false)))
	if err == nil {
		t.Fatal("reset request succeeded")
	}
	if st := s.Stats(); st.Resets != 1 || len(st.ByStatus) != 0 || s.Requests()[0].Status != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestFaultTruncate(t *testing.T) {
	for _, stream := range []bool{false, true} {
		s := newTestServer(t, Config{})
		s.Inject(Fault{Kind: FaultTruncate})
		res, err := s.Client().Post(s.URL+"/v1/messages", "application/json", bytes.NewReader(anthropicBody("m", "hi", 5, stream)))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !errors.Is(err, io.ErrUnexpectedEOF) || len(b) == 0 {
			t.Errorf("stream=%v: status %d, %d bytes, err %v; want 200, some bytes, unexpected EOF", stream, res.StatusCode, len(b), err)
		}
		if stream && strings.Contains(string(b), "message_stop") {
			t.Errorf("truncated stream reached message_stop")
		}
		if st := s.Stats(); st.Truncated != 1 || st.Completed != 0 || st.OutputTokens != 0 {
			t.Errorf("stream=%v: stats %+v", stream, st)
		}
	}
}

func TestFaultStreamError(t *testing.T) {
	synctest.Test(t, testFaultStreamError)
}

func testFaultStreamError(t *testing.T) {
	s := newPipeServer(t, Config{Quota: Quota{OutputTokens: 100}, ExactHeaders: true})
	s.Inject(Fault{Kind: FaultStreamError, ErrorType: "rate_limit_error"}, Fault{Kind: FaultStreamError})
	res, b := post(t, s, "/v1/messages", "k", anthropicBody("m", "hi", 50, true))
	names, data := sseEvents(t, b)
	if res.StatusCode != 200 || len(names) != 1 || names[0] != "error" || !strings.Contains(data[0], `"rate_limit_error"`) {
		t.Errorf("stream error: %d %s", res.StatusCode, b)
	}
	// Not streaming: the same fault is a status.
	res, b = post(t, s, "/v1/messages", "k", anthropicBody("m", "hi", 50, false))
	if res.StatusCode != 529 {
		t.Errorf("non-stream stream error: %d %s", res.StatusCode, b)
	}
	// The errored stream generated nothing and was charged nothing: only
	// this request's 16 tokens are gone.
	res, _ = post(t, s, "/v1/messages", "k", anthropicBody("m", "hi", 50, false))
	if v := res.Header.Get("anthropic-ratelimit-output-tokens-remaining"); v != "84" {
		t.Errorf("output remaining = %s, want 84", v)
	}
}

func TestOutages(t *testing.T) {
	s := newTestServer(t, Config{Outages: []Outage{{Start: 0, End: time.Hour}}})
	if res, _ := post(t, s, "/v1/messages", "k", anthropicBody("m", "hi", 5, false)); res.StatusCode != 529 {
		t.Errorf("configured outage: %d", res.StatusCode)
	}
	s2 := newTestServer(t, Config{})
	s2.StartOutage(time.Hour, 503)
	res, b := post(t, s2, "/v1/chat/completions", "k", openAIBody("g", "hi", 0, false, false))
	if res.StatusCode != 503 || !strings.Contains(string(b), `"server_error"`) {
		t.Errorf("started outage: %d %s", res.StatusCode, b)
	}
	s2.StartOutage(0, 0) // an empty window changes nothing
}

// TestSeededFaults: the same seed gives the same faults, another seed
// different ones.
func TestSeededFaults(t *testing.T) {
	run := func(seed int64) string {
		s := newTestServer(t, Config{Seed: seed, Faults: []Fault{
			{Kind: FaultStatus, Status: 529, Probability: 0.3},
			{Kind: FaultStatus, Status: 500, Probability: 0.2},
		}})
		var sb strings.Builder
		for range 40 {
			res, _ := post(t, s, "/v1/messages", "k", anthropicBody("m", "hi", 5, false))
			sb.WriteString(map[int]string{200: ".", 500: "5", 529: "9"}[res.StatusCode])
		}
		return sb.String()
	}
	a, b, c := run(1), run(1), run(2)
	if a != b {
		t.Errorf("seed 1 twice: %s vs %s", a, b)
	}
	if a == c {
		t.Errorf("seeds 1 and 2 agree: %s", a)
	}
	for _, c := range []string{".", "5", "9"} {
		if !strings.Contains(a, c) {
			t.Errorf("no %q in %s", c, a)
		}
	}
}

func TestSlowStreamAndClose(t *testing.T) {
	s := NewServer(Config{StreamEventDelay: time.Hour})
	res, err := s.Client().Post(s.URL+"/v1/messages", "application/json", bytes.NewReader(anthropicBody("m", "hi", 5, true)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	// The first event arrives; the rest would take hours.
	buf := make([]byte, 64)
	if _, err := res.Body.Read(buf); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hangs on a slow stream")
	}
	if _, err := io.ReadAll(res.Body); err == nil {
		t.Error("cut stream read to a clean EOF")
	}
}

// A client that gives up on a slow response ends the handler at that
// moment.
func TestLatencyHonoursClientCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newPipeServer(t, Config{})
		s.Inject(Fault{Kind: FaultLatency, Delay: time.Hour})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/v1/messages", bytes.NewReader(anthropicBody("m", "hi", 5, false)))
		start := time.Now()
		if _, err := s.Client().Do(req); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		synctest.Wait()
		if n, d := s.Stats().InFlight, time.Since(start); n != 0 || d != 100*time.Millisecond {
			t.Fatalf("%d handlers in flight %v after the call, want none when the client left at 100ms", n, d)
		}
	})
}
