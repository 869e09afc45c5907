package transport

import (
	"context"
	"io"
	"net/http"

	"github.com/sluicehq/sluice/internal/reqbody"
)

// fieldsKey carries the request fields the meter read, so the layers
// beneath it do not parse the body again.
type fieldsKey struct{}

func withFields(ctx context.Context, f reqbody.Fields) context.Context {
	return context.WithValue(ctx, fieldsKey{}, f)
}

// requestFields returns the fields an outer layer put in req's context, or
// reads them from the body.
func requestFields(req *http.Request) reqbody.Fields {
	if f, ok := req.Context().Value(fieldsKey{}).(reqbody.Fields); ok {
		return f
	}
	return bodyFields(req)
}

// bodyFields reads the request fields from a copy of the body obtained
// through GetBody; req.Body is never touched. Zero Fields when the body
// cannot be replayed or is not a JSON object.
func bodyFields(req *http.Request) reqbody.Fields {
	if req.GetBody == nil || req.Body == nil || req.Body == http.NoBody {
		return reqbody.Fields{}
	}
	rc, err := req.GetBody()
	if err != nil {
		return reqbody.Fields{}
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return reqbody.Fields{}
	}
	f, _ := reqbody.Extract(b)
	return f
}

// defaultBreakerKey is the host and the model of req ("api.anthropic.com
// claude-sonnet-4-5"), or the host alone when the body names no model.
func defaultBreakerKey(req *http.Request) string {
	if m := requestFields(req).Model; m != "" {
		return req.URL.Host + " " + m
	}
	return req.URL.Host
}
