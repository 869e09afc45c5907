package llmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// anthropic speaks the Anthropic Messages API.
type anthropic struct{}

func (anthropic) name() string            { return providerAnthropic }
func (anthropic) requestIDHeader() string { return "request-id" }

// rateHeaders sets anthropic-ratelimit-{requests,tokens,input-tokens,
// output-tokens}-{limit,remaining,reset}; resets are RFC 3339 UTC moments.
// The tokens-* headers are not a bucket of their own: they combine input
// and output as the API's recorded responses do (limit and remaining add
// up, reset is the later one). Remaining token counts are rounded to the
// nearest thousand unless exact; requests-remaining is always exact.
func (anthropic) rateHeaders(h http.Header, states []bucketState, now time.Time, exact bool) {
	set := func(name string, limit, remaining int64, reset time.Duration) {
		p := "anthropic-ratelimit-" + name + "-"
		if name != "requests" && !exact {
			remaining = (remaining + 500) / 1000 * 1000
		}
		h.Set(p+"limit", strconv.FormatInt(limit, 10))
		h.Set(p+"remaining", strconv.FormatInt(remaining, 10))
		h.Set(p+"reset", resetAt(now, reset).Format(time.RFC3339))
	}
	var tok bucketState
	for _, s := range states {
		switch s.name {
		case bucketRequests:
			set("requests", s.limit, s.remaining, s.reset)
		case bucketInputTokens, bucketOutputTokens:
			set(map[string]string{bucketInputTokens: "input-tokens", bucketOutputTokens: "output-tokens"}[s.name], s.limit, s.remaining, s.reset)
			tok.limit += s.limit
			tok.remaining += s.remaining
			tok.reset = max(tok.reset, s.reset)
			tok.name = bucketTokens
		}
	}
	if tok.name != "" {
		set("tokens", tok.limit, tok.remaining, tok.reset)
	}
}

func (anthropic) errorType(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusMethodNotAllowed:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case http.StatusGatewayTimeout:
		return "timeout_error"
	case 529:
		return "overloaded_error"
	}
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

func (anthropic) errorMessage(status int) string {
	switch status {
	case 529:
		return "Overloaded"
	case http.StatusInternalServerError:
		return "Internal server error"
	case http.StatusTooManyRequests:
		return "Rate limited"
	}
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "Error"
}

type anthropicError struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
		Details *struct {
			ErrorCode string `json:"error_code"`
		} `json:"details,omitempty"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

func (a anthropic) errorJSON(e apiError, reqID string) []byte {
	var b anthropicError
	b.Type = "error"
	b.Error.Type = e.typ
	b.Error.Message = e.message
	if e.message == "" {
		b.Error.Message = a.errorMessage(statusOfType(e.typ))
	}
	if e.code != "" {
		b.Error.Details = &struct {
			ErrorCode string `json:"error_code"`
		}{e.code}
	}
	b.RequestID = reqID
	return mustJSON(b)
}

func (a anthropic) errorBody(e apiError, reqID string) []byte { return a.errorJSON(e, reqID) }

func (a anthropic) streamError(e apiError, reqID string) []byte {
	return sseEvent("error", a.errorJSON(e, reqID))
}

func (anthropic) limitError(c call, v verdict) apiError {
	e := apiError{status: http.StatusTooManyRequests, typ: "rate_limit_error"}
	unit := map[string]string{bucketRequests: "requests", bucketInputTokens: "input tokens", bucketOutputTokens: "output tokens"}[v.limiting]
	if v.tooLarge {
		e.message = fmt.Sprintf("This request would use %d %s, more than your rate limit of %d %s %s for model %s. Reduce the prompt length or the maximum tokens requested.",
			int64(v.asked), unit, int64(v.limit), unit, per(v.window), c.Model)
		return e
	}
	e.message = fmt.Sprintf("This request would exceed the rate limit for your organization of %d %s %s for model %s. Please try again later.",
		int64(v.limit), unit, per(v.window), c.Model)
	return e
}

func (anthropic) countTokens(c call) []byte {
	return mustJSON(map[string]int{"input_tokens": c.InputTokens})
}

// demand follows Anthropic's current rate-limit docs: ITPM is charged with
// input_tokens plus cache_creation_input_tokens (cache reads only for the
// models that count them), known at admission from the cache's state; OTPM
// admits while positive and is charged the output as it is generated,
// which the fake does at once. With ReserveMaxTokens, OTPM reserves
// max_tokens at admission instead (the 2025 rule), settled by refund.
func (anthropic) demand(cfg *Config, c call, _, used int) demand {
	in := c.uncached() + c.cache.creation
	if cfg.CountsCacheReads(c.Model) {
		in += c.cache.read
	}
	d := demand{requests: 1, input: float64(in)}
	if cfg.ReserveMaxTokens {
		d.output = float64(c.MaxTokens)
	} else {
		d.counted, d.generated = true, float64(used)
	}
	return d
}

func (anthropic) refund(_ *Config, _ call, reserved demand, used int) demand {
	if reserved.counted {
		return demand{}
	}
	return demand{output: reserved.output - float64(used)}
}

type anthropicUsage struct {
	InputTokens              int                   `json:"input_tokens"`
	CacheCreationInputTokens int                   `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int                   `json:"cache_read_input_tokens"`
	CacheCreation            *anthropicCacheCreate `json:"cache_creation,omitempty"`
	OutputTokens             int                   `json:"output_tokens"`
	ServiceTier              string                `json:"service_tier,omitempty"`
}

// anthropicCacheCreate splits cache_creation_input_tokens by TTL.
type anthropicCacheCreate struct {
	Ephemeral5m int `json:"ephemeral_5m_input_tokens"`
	Ephemeral1h int `json:"ephemeral_1h_input_tokens"`
}

type anthropicBlock struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type anthropicMessage struct {
	ID           string           `json:"id"`
	Type         string           `json:"type"`
	Role         string           `json:"role"`
	Model        string           `json:"model"`
	Content      []anthropicBlock `json:"content"`
	StopReason   *string          `json:"stop_reason"`
	StopSequence *string          `json:"stop_sequence"`
	Usage        anthropicUsage   `json:"usage"`
}

func (anthropic) success(x *exchange, out int) rendered {
	stop := "end_turn"
	if out == x.c.MaxTokens {
		stop = "max_tokens"
	}
	text := outputText(out)
	msg := anthropicMessage{
		ID:    fmt.Sprintf("msg_llmtest%013d", x.s.seq.Add(1)),
		Type:  "message",
		Role:  "assistant",
		Model: x.c.Model,
		Usage: anthropicUsage{InputTokens: x.c.uncached(), OutputTokens: out, ServiceTier: "standard",
			CacheCreationInputTokens: x.c.cache.creation, CacheReadInputTokens: x.c.cache.read,
			CacheCreation: &anthropicCacheCreate{Ephemeral5m: x.c.cache.creation5m, Ephemeral1h: x.c.cache.creation1h}},
	}
	if !x.c.Stream {
		msg.Content = []anthropicBlock{{Type: "text", Text: text}}
		msg.StopReason = &stop
		return rendered{body: mustJSON(msg), usage: true}
	}
	return rendered{events: anthropicStream(msg, text, stop), usage: true}
}

// anthropicStream is the documented event sequence: message_start, ping,
// content_block_start, content_block_delta…, content_block_stop,
// message_delta (cumulative usage), message_stop.
func anthropicStream(msg anthropicMessage, text, stop string) [][]byte {
	final := msg.Usage
	msg.Content = []anthropicBlock{}
	msg.Usage.OutputTokens = min(1, final.OutputTokens) // a placeholder, as the API sends
	ev := func(name string, v any) []byte { return sseEvent(name, mustJSON(v)) }
	type obj = map[string]any
	evs := [][]byte{
		ev("message_start", obj{"type": "message_start", "message": msg}),
		ev("content_block_start", obj{"type": "content_block_start", "index": 0, "content_block": anthropicBlock{Type: "text"}}),
		ev("ping", obj{"type": "ping"}),
	}
	for _, piece := range chunks(text) {
		evs = append(evs, ev("content_block_delta", obj{"type": "content_block_delta", "index": 0,
			"delta": obj{"type": "text_delta", "text": piece}}))
	}
	final.ServiceTier, final.CacheCreation = "", nil
	return append(evs,
		ev("content_block_stop", obj{"type": "content_block_stop", "index": 0}),
		ev("message_delta", obj{"type": "message_delta",
			"delta": obj{"stop_reason": stop, "stop_sequence": nil}, "usage": final}),
		ev("message_stop", obj{"type": "message_stop"}),
	)
}

// chunks splits generated text into at most 32 deltas of whole tokens.
func chunks(text string) []string {
	tokens := CountTokens(text)
	if tokens == 0 {
		return nil
	}
	per := (tokens + 31) / 32 * 4 // bytes per chunk
	var out []string
	for len(text) > per {
		out = append(out, text[:per])
		text = text[per:]
	}
	return append(out, text)
}

// mustJSON marshals values that cannot fail to marshal.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("llmtest: " + err.Error())
	}
	return b
}
