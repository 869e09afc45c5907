package transport

import (
	"context"
	"io"
	"net/http"
	"sync"

	"github.com/sluicehq/sluice/internal/reqbody"
	"github.com/sluicehq/sluice/limiter"
)

// RequestFields are the top-level fields of a request's JSON body that a
// key function may group requests by (LimitSettings.Key, BreakerSettings.Key). They
// are read once per logical call from a copy of the body (req.GetBody;
// req.Body is never consumed). A zero value means the field is absent, or
// the body is not a JSON object or cannot be replayed.
type RequestFields struct {
	// Model is the model the body names ("model").
	Model string
	// MaxTokens is max_tokens (Anthropic, OpenAI chat),
	// max_completion_tokens (OpenAI chat) or max_output_tokens (OpenAI
	// Responses), whichever is present.
	MaxTokens int64
	// Stream reports "stream": true, a streamed response.
	Stream bool
	// Size is the body's length in bytes; set even when the body is not
	// JSON, from the request's ContentLength when it cannot be replayed.
	Size int64
}

// exportFields converts the fields the layers read to those a key
// function is given.
func exportFields(f reqbody.Fields) RequestFields {
	return RequestFields{Model: f.Model, MaxTokens: f.MaxTokens, Stream: f.Stream, Size: f.Size}
}

// callKey carries the callState of a logical call from the meter (the
// outermost layer) to the layers beneath it.
type callKey struct{}

// callState is what the layers of one stack share about a logical call:
// the request-body fields the meter read once (so no layer parses the body
// again on every attempt). The usage of a response is not shared here: it
// travels up in the body it was read from (settleBody).
type callState struct {
	fields reqbody.Fields

	prefixOnce sync.Once
	prefixes   []limiter.Prefix // requestPrefixes, computed once per call
}

func withCall(ctx context.Context, cs *callState) context.Context {
	return context.WithValue(ctx, callKey{}, cs)
}

func callFrom(ctx context.Context) *callState {
	cs, _ := ctx.Value(callKey{}).(*callState)
	return cs
}

// requestFields returns the fields an outer layer put in req's context, or
// reads them from a copy of the body obtained through GetBody. req.Body is
// never touched, so the body still replays. Only Size is set when the body
// cannot be replayed or is not a JSON object.
func requestFields(req *http.Request) reqbody.Fields {
	if cs := callFrom(req.Context()); cs != nil {
		return cs.fields
	}
	if req.GetBody == nil || req.Body == nil || req.Body == http.NoBody {
		return reqbody.Fields{Size: max(req.ContentLength, 0)}
	}
	rc, err := req.GetBody()
	if err != nil {
		return reqbody.Fields{Size: max(req.ContentLength, 0)}
	}
	defer rc.Close()
	f, _ := reqbody.ExtractReader(rc)
	return f
}

// requestPrefixes returns the cacheable prompt prefixes of req's body
// (reqbody.CachePrefixes), once per logical call when the meter shares its
// state: reading them decodes the whole body, which only a body holding
// cache_control pays for.
func requestPrefixes(req *http.Request, f reqbody.Fields) []limiter.Prefix {
	cs := callFrom(req.Context())
	if cs == nil {
		return readPrefixes(req, f.Model)
	}
	cs.prefixOnce.Do(func() { cs.prefixes = readPrefixes(req, f.Model) })
	return cs.prefixes
}

func readPrefixes(req *http.Request, model string) []limiter.Prefix {
	if req.GetBody == nil {
		return nil
	}
	rc, err := req.GetBody()
	if err != nil {
		return nil
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil
	}
	return reqbody.CachePrefixes(b, model)
}
