package transport

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/sluicehq/sluice/internal/reqbody"
	"github.com/sluicehq/sluice/internal/usage"
	"github.com/sluicehq/sluice/limiter"
)

// callKey carries the callState of a logical call from the meter (the
// outermost layer) to the layers beneath it.
type callKey struct{}

// callState is what the layers of one stack share about a logical call:
// the request-body fields the meter read once (so no layer parses the body
// again on every attempt), and the usage the limit layer tapped from the
// attempts' bodies (so the body is scanned once, not once per layer).
type callState struct {
	fields reqbody.Fields

	prefixOnce sync.Once
	prefixes   []limiter.Prefix // requestPrefixes, computed once per call

	tapped atomic.Bool // the limit layer scans the attempts' 2xx bodies

	mu  sync.Mutex // guards u and err
	u   usage.Usage
	err error
}

func withCall(ctx context.Context, cs *callState) context.Context {
	return context.WithValue(ctx, callKey{}, cs)
}

func callFrom(ctx context.Context) *callState {
	cs, _ := ctx.Value(callKey{}).(*callState)
	return cs
}

// willTap records that the limit layer scans this call's 2xx bodies.
func (cs *callState) willTap() { cs.tapped.Store(true) }

// publish records the usage of an attempt's body when it ends. The body a
// caller reads is the last attempt's, and its end comes after every
// discarded attempt's, so the last publication is the call's.
func (cs *callState) publish(u usage.Usage, err error) {
	cs.mu.Lock()
	cs.u, cs.err = u, err
	cs.mu.Unlock()
}

func (cs *callState) isTapped() bool { return cs.tapped.Load() }

func (cs *callState) result() (usage.Usage, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.u, cs.err
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
