package bench

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// stubRT answers every request in memory with the response messageHandler
// sends (headers, 1 KB JSON body), after draining the request body as a
// transport would.
type stubRT struct{ header http.Header }

func newStubRT() stubRT {
	rec := httptest.NewRecorder()
	messageHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/messages", bytes.NewReader(requestJSON)))
	h := rec.Result().Header
	// The stub answers some 100 000 calls a second, which would drain
	// messageHandler's quota of 10⁸ a minute within seconds: give it one
	// no benchmark can exhaust, with the same headers to parse.
	for k, v := range h {
		if strings.HasSuffix(k, "-Limit") || strings.HasSuffix(k, "-Remaining") {
			v[0] = "1000000000000000"
		}
	}
	return stubRT{header: h}
}

func (s stubRT) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusOK, Header: s.header, ContentLength: int64(len(messageJSON)),
		Body: io.NopCloser(bytes.NewReader(messageJSON)), Request: r}, nil
}

// BenchmarkOverheadStub runs the rows of BenchmarkOverhead over an
// in-memory transport instead of loopback: no network, no server, so ns/op
// minus the bare row's is each set-up's own CPU cost per call, without the
// noise of the loopback round trip. It is a profiling aid; the targets are
// judged on BenchmarkOverhead.
func BenchmarkOverheadStub(b *testing.B) {
	const url = "http://api.test"
	for _, c := range overheadCases() {
		b.Run(c.name, func(b *testing.B) {
			if c.build == nil {
				b.Skip("pending: layer not on main")
			}
			rt, reset, done := c.build(newStubRT())
			defer done()
			defer closeRT(rt)
			for range 200 {
				roundTrip(b, rt, url)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				roundTrip(b, rt, url)
				if i%4096 == 4095 {
					reset()
				}
			}
		})
	}
}
