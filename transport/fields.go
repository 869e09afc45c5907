package transport

import (
	"context"
	"net/http"

	"github.com/sluicehq/sluice/internal/reqbody"
)

// fieldsKey carries the request-body fields an outer layer (the meter) read,
// so the layers beneath it do not parse the body again on every attempt.
type fieldsKey struct{}

func withFields(ctx context.Context, f reqbody.Fields) context.Context {
	return context.WithValue(ctx, fieldsKey{}, f)
}

// requestFields returns the fields an outer layer put in req's context, or
// reads them from a copy of the body obtained through GetBody. req.Body is
// never touched, so the body still replays. Only Size is set when the body
// cannot be replayed or is not a JSON object.
func requestFields(req *http.Request) reqbody.Fields {
	if f, ok := req.Context().Value(fieldsKey{}).(reqbody.Fields); ok {
		return f
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
