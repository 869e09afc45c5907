package llmtest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestOpenAIJSON(t *testing.T) {
	s := newTestServer(t, Config{})
	res, body := post(t, s, "/v1/chat/completions", "k", openAIBody("gpt-test", "12345678", 0, false, false))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	var cc struct {
		Object  string
		Choices []struct {
			Message      struct{ Role, Content string }
			FinishReason string `json:"finish_reason"`
		}
		Usage struct {
			Prompt     int `json:"prompt_tokens"`
			Completion int `json:"completion_tokens"`
			Total      int `json:"total_tokens"`
		}
	}
	if err := json.Unmarshal(body, &cc); err != nil {
		t.Fatal(err)
	}
	if cc.Object != "chat.completion" || len(cc.Choices) != 1 || cc.Choices[0].FinishReason != "stop" ||
		CountTokens(cc.Choices[0].Message.Content) != 16 || cc.Usage.Prompt != 2 || cc.Usage.Completion != 16 || cc.Usage.Total != 18 {
		t.Errorf("completion = %s", body)
	}
	if res.Header.Get("x-request-id") == "" {
		t.Error("no x-request-id")
	}
}

func TestOpenAIStream(t *testing.T) {
	for _, includeUsage := range []bool{true, false} {
		s := newTestServer(t, Config{})
		res, body := post(t, s, "/v1/chat/completions", "k", openAIBody("gpt-test", "hi", 5, true, includeUsage))
		if res.StatusCode != http.StatusOK {
			t.Fatalf("status %d", res.StatusCode)
		}
		if strings.Contains(string(body), "event:") {
			t.Errorf("chat stream has event: lines")
		}
		names, data := sseEvents(t, body)
		if data[len(data)-1] != "[DONE]" {
			t.Errorf("last event %q, want [DONE]", data[len(data)-1])
		}
		var usageChunks, nullUsage int
		for i := range names[:len(names)-1] {
			var ch map[string]json.RawMessage
			if err := json.Unmarshal([]byte(data[i]), &ch); err != nil {
				t.Fatal(err)
			}
			u, has := ch["usage"]
			switch {
			case has && string(u) == "null":
				nullUsage++
			case has:
				usageChunks++
				if string(ch["choices"]) != "[]" || i != len(names)-2 {
					t.Errorf("usage chunk %s is not the choice-less last chunk", data[i])
				}
			}
		}
		wantUsage, wantNull := 0, 0
		if includeUsage {
			wantUsage, wantNull = 1, len(names)-2
		}
		if usageChunks != wantUsage || nullUsage != wantNull {
			t.Errorf("include_usage=%v: %d usage chunks, %d null usages; want %d, %d", includeUsage, usageChunks, nullUsage, wantUsage, wantNull)
		}
		if st := s.Stats(); includeUsage != (st.OutputTokens == 5) || st.Completed != 1 {
			t.Errorf("include_usage=%v: stats %+v", includeUsage, st)
		}
	}
}
