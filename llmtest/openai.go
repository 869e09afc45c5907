package llmtest

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// openAI speaks the OpenAI Chat Completions and Responses APIs.
type openAI struct{}

func (openAI) name() string            { return providerOpenAI }
func (openAI) requestIDHeader() string { return "x-request-id" }

// rateHeaders sets x-ratelimit-{limit,remaining,reset}-{requests,tokens};
// resets are Go-style durations until the bucket is full again.
func (openAI) rateHeaders(h http.Header, states []bucketState, _ time.Time, _ bool) {
	for _, s := range states {
		h.Set("x-ratelimit-limit-"+s.name, strconv.FormatInt(s.limit, 10))
		h.Set("x-ratelimit-remaining-"+s.name, strconv.FormatInt(s.remaining, 10))
		h.Set("x-ratelimit-reset-"+s.name, goDuration(s.reset))
	}
}

func (openAI) errorType(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return "requests"
	case status >= 500:
		return "server_error"
	}
	return "invalid_request_error"
}

func (openAI) errorMessage(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return "Rate limit reached. Please try again later."
	case status == 529 || status == http.StatusServiceUnavailable:
		return "The server is overloaded or not ready yet."
	case status >= 500:
		return "The server had an error while processing your request. Sorry about that!"
	}
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "Error"
}

type openAIError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func (o openAI) errorBody(e apiError, _ string) []byte {
	var b openAIError
	b.Error.Message = e.message
	if b.Error.Message == "" {
		b.Error.Message = o.errorMessage(statusOfType(e.typ))
	}
	b.Error.Type = e.typ
	if e.code != "" {
		b.Error.Code = &e.code
	}
	return mustJSON(b)
}

// streamError is a data-only chunk holding an error object, which openai-go
// turns into a stream error.
func (o openAI) streamError(e apiError, reqID string) []byte {
	return sseEvent("", o.errorBody(e, reqID))
}

func (openAI) limitError(c call, v verdict) apiError {
	e := apiError{status: http.StatusTooManyRequests, typ: "requests", code: "rate_limit_exceeded"}
	unit := "requests per min (RPM)"
	if v.limiting == bucketTokens {
		e.typ, unit = "tokens", "tokens per min (TPM)"
	}
	if v.tooLarge {
		e.message = fmt.Sprintf("Request too large for %s in organization org-llmtest on %s: Limit %d, Requested %d. The input or output tokens must be reduced in order to run successfully.",
			c.Model, unit, int64(v.limit), int64(v.asked))
		return e
	}
	used := int64(v.limit) - int64(max(0, v.have))
	e.message = fmt.Sprintf("Rate limit reached for %s in organization org-llmtest on %s: Limit %d, Used %d, Requested %d. Please try again in %s.",
		c.Model, unit, int64(v.limit), used, int64(v.asked), goDuration(v.wait))
	return e
}

func (openAI) countTokens(c call) []byte {
	return mustJSON(map[string]any{"object": "response.input_tokens", "input_tokens": c.InputTokens})
}

// demand reserves input plus max_tokens against TPM (or plus the real
// output when the request sets no limit), as OpenAI estimates a request.
func (openAI) demand(_ *Config, c call, out, _ int) demand {
	reserve := c.MaxTokens
	if !c.HasMaxTokens {
		reserve = out
	}
	return demand{requests: 1, tokens: float64(c.InputTokens + reserve)}
}

func (openAI) refund(_ *Config, c call, reserved demand, used int) demand {
	return demand{tokens: reserved.tokens - float64(c.InputTokens+used)}
}

func (o openAI) success(x *exchange, out int) rendered {
	if x.api == epResponses {
		return o.response(x, out)
	}
	return o.chat(x, out)
}

type openAIUsage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
		AudioTokens  int `json:"audio_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens          int `json:"reasoning_tokens"`
		AudioTokens              int `json:"audio_tokens"`
		AcceptedPredictionTokens int `json:"accepted_prediction_tokens"`
		RejectedPredictionTokens int `json:"rejected_prediction_tokens"`
	} `json:"completion_tokens_details"`
}

func (openAI) chat(x *exchange, out int) rendered {
	finish := "stop"
	if out == x.c.MaxTokens {
		finish = "length"
	}
	text := outputText(out)
	id := fmt.Sprintf("chatcmpl-llmtest%013d", x.s.seq.Add(1))
	created := time.Now().Unix()
	usage := openAIUsage{PromptTokens: x.c.InputTokens, CompletionTokens: out, TotalTokens: x.c.InputTokens + out}
	type obj = map[string]any
	if !x.c.Stream {
		return rendered{usage: true, body: mustJSON(obj{
			"id": id, "object": "chat.completion", "created": created, "model": x.c.Model,
			"choices": []obj{{"index": 0, "message": obj{"role": "assistant", "content": text, "refusal": nil},
				"logprobs": nil, "finish_reason": finish}},
			"usage": usage, "service_tier": "default", "system_fingerprint": "fp_llmtest",
		})}
	}
	chunk := func(choices []obj, u any) []byte {
		c := obj{"id": id, "object": "chat.completion.chunk", "created": created, "model": x.c.Model,
			"system_fingerprint": "fp_llmtest", "service_tier": "default", "choices": choices}
		if x.c.IncludeUsage {
			c["usage"] = u // null on every chunk but the last, as the API does
		}
		return sseEvent("", mustJSON(c))
	}
	delta := func(d obj, finish any) []obj {
		return []obj{{"index": 0, "delta": d, "logprobs": nil, "finish_reason": finish}}
	}
	evs := [][]byte{chunk(delta(obj{"role": "assistant", "content": "", "refusal": nil}, nil), nil)}
	for _, piece := range chunks(text) {
		evs = append(evs, chunk(delta(obj{"content": piece}, nil), nil))
	}
	evs = append(evs, chunk(delta(obj{}, finish), nil))
	if x.c.IncludeUsage {
		evs = append(evs, chunk([]obj{}, usage))
	}
	return rendered{events: append(evs, []byte("data: [DONE]\n\n")), usage: x.c.IncludeUsage}
}

// response answers the Responses API: a response object, or its event
// stream ending in response.completed.
func (openAI) response(x *exchange, out int) rendered {
	text := outputText(out)
	id := fmt.Sprintf("resp_llmtest%013d", x.s.seq.Add(1))
	type obj = map[string]any
	status, incomplete := "completed", any(nil)
	if out == x.c.MaxTokens {
		status, incomplete = "incomplete", obj{"reason": "max_output_tokens"}
	}
	item := obj{"id": "msg_" + id[5:], "type": "message", "status": "completed", "role": "assistant",
		"content": []obj{{"type": "output_text", "text": text, "annotations": []any{}}}}
	resp := obj{"id": id, "object": "response", "created_at": time.Now().Unix(), "status": status,
		"incomplete_details": incomplete, "model": x.c.Model, "output": []obj{item},
		"usage": obj{"input_tokens": x.c.InputTokens, "input_tokens_details": obj{"cached_tokens": 0},
			"output_tokens": out, "output_tokens_details": obj{"reasoning_tokens": 0},
			"total_tokens": x.c.InputTokens + out}}
	if !x.c.Stream {
		return rendered{body: mustJSON(resp), usage: true}
	}
	seq := 0
	ev := func(typ string, fields obj) []byte {
		fields["type"], fields["sequence_number"] = typ, seq
		seq++
		return sseEvent(typ, mustJSON(fields))
	}
	started := obj{"id": id, "object": "response", "created_at": resp["created_at"], "status": "in_progress",
		"model": x.c.Model, "output": []obj{}, "usage": nil}
	evs := [][]byte{ev("response.created", obj{"response": started}), ev("response.in_progress", obj{"response": started})}
	for _, piece := range chunks(text) {
		evs = append(evs, ev("response.output_text.delta", obj{"item_id": item["id"], "output_index": 0, "content_index": 0, "delta": piece}))
	}
	evs = append(evs, ev("response.output_text.done", obj{"item_id": item["id"], "output_index": 0, "content_index": 0, "text": text}))
	final := "response.completed"
	if status == "incomplete" {
		final = "response.incomplete"
	}
	return rendered{events: append(evs, ev(final, obj{"response": resp})), usage: true}
}
