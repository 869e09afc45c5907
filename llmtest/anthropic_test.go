package llmtest

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestAnthropicJSON(t *testing.T) {
	s := newTestServer(t, Config{})
	prompt := strings.Repeat("x", 41) // 11 tokens
	res, body := post(t, s, "/v1/messages", "k", anthropicBody("claude-test", prompt, 100, false))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	var msg struct {
		ID, Type, Role, Model string
		StopReason            string `json:"stop_reason"`
		Content               []struct{ Type, Text string }
		Usage                 map[string]any
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		t.Fatal(err)
	}
	if msg.Type != "message" || msg.Role != "assistant" || msg.Model != "claude-test" || !strings.HasPrefix(msg.ID, "msg_") {
		t.Errorf("message = %+v", msg)
	}
	if len(msg.Content) != 1 || msg.Content[0].Type != "text" || CountTokens(msg.Content[0].Text) != 16 {
		t.Errorf("content = %+v, want one text block of 16 tokens", msg.Content)
	}
	if msg.StopReason != "end_turn" {
		t.Errorf("stop_reason = %q", msg.StopReason)
	}
	for k, want := range map[string]float64{"input_tokens": 11, "output_tokens": 16, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0} {
		if msg.Usage[k] != want {
			t.Errorf("usage.%s = %v, want %v", k, msg.Usage[k], want)
		}
	}
	if id := res.Header.Get("request-id"); !strings.HasPrefix(id, "req_") {
		t.Errorf("request-id = %q", id)
	}
	st := s.Stats()
	if st.Arrivals != 1 || st.Completed != 1 || st.ByStatus[200] != 1 || st.InputTokens != 11 || st.OutputTokens != 16 {
		t.Errorf("stats = %+v", st)
	}
}

func TestAnthropicStream(t *testing.T) {
	s := newTestServer(t, Config{})
	res, body := post(t, s, "/v1/messages", "k", anthropicBody("claude-test", "hello", 10, true))
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, content-type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	names, data := sseEvents(t, body)
	var shape []string
	var text strings.Builder
	for i, n := range names {
		var ev struct {
			Type  string
			Delta struct {
				Text       string
				StopReason string `json:"stop_reason"`
			}
			Usage map[string]float64
		}
		if err := json.Unmarshal([]byte(data[i]), &ev); err != nil {
			t.Fatalf("event %d %q: %v", i, data[i], err)
		}
		if ev.Type != n {
			t.Errorf("event %q carries type %q", n, ev.Type)
		}
		switch n {
		case "content_block_delta":
			text.WriteString(ev.Delta.Text)
			if len(shape) > 0 && shape[len(shape)-1] == n {
				continue
			}
		case "message_delta":
			if ev.Usage["output_tokens"] != 10 || ev.Usage["input_tokens"] != 2 || ev.Delta.StopReason != "max_tokens" {
				t.Errorf("message_delta = %s", data[i])
			}
		}
		shape = append(shape, n)
	}
	want := []string{"message_start", "content_block_start", "ping", "content_block_delta", "content_block_stop", "message_delta", "message_stop"}
	if !reflect.DeepEqual(shape, want) {
		t.Errorf("events = %v, want %v", shape, want)
	}
	if CountTokens(text.String()) != 10 {
		t.Errorf("streamed text %q is not 10 tokens", text.String())
	}
	if st := s.Stats(); st.Completed != 1 || st.OutputTokens != 10 || st.InputTokens != 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestCountTokensEndpoint(t *testing.T) {
	s := newTestServer(t, Config{})
	body := []byte(`{"model":"m","system":"abcd","messages":[{"role":"user","content":[{"type":"text","text":"abcde"},{"type":"image","source":{}}]}]}`)
	res, b := post(t, s, "/v1/messages/count_tokens", "k", body)
	if res.StatusCode != 200 || strings.TrimSpace(string(b)) != `{"input_tokens":3}` {
		t.Errorf("count_tokens = %d %s, want {\"input_tokens\":3}", res.StatusCode, b)
	}
}

func TestAnthropicBadRequest(t *testing.T) {
	s := newTestServer(t, Config{})
	for _, body := range []string{`{`, `{"model":"m","messages":[]}`, `{"max_tokens":5}`} {
		res, b := post(t, s, "/v1/messages", "k", []byte(body))
		var e struct {
			Type  string
			Error struct{ Type, Message string }
		}
		if err := json.Unmarshal(b, &e); err != nil || res.StatusCode != 400 || e.Type != "error" || e.Error.Type != "invalid_request_error" {
			t.Errorf("%s: %d %s", body, res.StatusCode, b)
		}
	}
}
