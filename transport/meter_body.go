package transport

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

var errNotObject = errors.New("sluice: request body is not a JSON object")

// withIncludeUsage returns a copy of req whose body asks for
// stream_options.include_usage: true, with Body, GetBody and ContentLength
// consistent. req itself is not modified and its Body is not consumed.
func withIncludeUsage(req *http.Request) (*http.Request, error) {
	if req.GetBody == nil {
		return nil, errNotObject
	}
	rc, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, err
	}
	nb, err := addIncludeUsage(b)
	if err != nil {
		return nil, err
	}
	r2 := req.Clone(req.Context())
	if req.Body != nil {
		req.Body.Close() // replaced: the transport closes only the new one
	}
	r2.Body = io.NopCloser(bytes.NewReader(nb))
	r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(nb)), nil }
	r2.ContentLength = int64(len(nb))
	r2.Header.Del("Content-Length") // the transport writes it from ContentLength
	return r2, nil
}

// addIncludeUsage sets stream_options.include_usage in the JSON object b.
// Without a stream_options key it inserts one after the opening brace and
// leaves every other byte alone; otherwise it re-encodes the top level
// (the messages stay raw JSON).
func addIncludeUsage(b []byte) ([]byte, error) {
	t := bytes.TrimLeft(b, " \t\r\n")
	if len(t) == 0 || t[0] != '{' {
		return nil, errNotObject
	}
	var top map[string]json.RawMessage
	if !bytes.Contains(b, []byte(`"stream_options"`)) {
		if !json.Valid(b) {
			return nil, errNotObject
		}
		rest := bytes.TrimLeft(t[1:], " \t\r\n")
		sep := ","
		if len(rest) > 0 && rest[0] == '}' {
			sep = ""
		}
		return append([]byte(`{"stream_options":{"include_usage":true}`+sep), t[1:]...), nil
	}
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, errNotObject
	}
	so := map[string]json.RawMessage{}
	if raw, ok := top["stream_options"]; ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		if err := json.Unmarshal(raw, &so); err != nil {
			return nil, errNotObject
		}
	}
	so["include_usage"] = json.RawMessage("true")
	var err error
	if top["stream_options"], err = json.Marshal(so); err != nil {
		return nil, err
	}
	return json.Marshal(top)
}
