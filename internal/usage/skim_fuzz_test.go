package usage

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/provider"
)

// skimPad is the middle of a long stream: content deltas that end between
// events, long enough that a skimming reader drops some of them.
var skimPad = func() string {
	s := anthropicStream(90, `a "quoted" \ text`)
	return s[strings.Index(s, "event: content_block_start"):strings.Index(s, "event: content_block_stop")]
}()

// FuzzSkimSSE puts hostile bytes at the end of a stream long enough to be
// skimmed: the skimming reader must find exactly what the reader that
// parses every byte finds, however the body is cut. The end of a body is
// where skimming resumes, so whatever it holds is read by both.
func FuzzSkimSSE(f *testing.F) {
	end := anthropicSSE[strings.Index(anthropicSSE, "event: content_block_stop"):]
	for _, s := range []string{end, strings.ReplaceAll(end, "\n", "\r\n"), strings.ReplaceAll(end, "\n", "\r"),
		"data: {\"usage\":{\"prompt_tokens\":5}}\n\n", "data: [DONE]\n\n", "event: message_delta\ndata: {\"usage\":", "\r\n\r", ""} {
		f.Add([]byte(s), uint8(5))
	}
	head := anthropicSSE[:strings.Index(anthropicSSE, "event: content_block_start")]
	if len(skimPad) <= tailKeep {
		f.Fatalf("a %d-byte pad is skimmed whole: nothing would be dropped", len(skimPad))
	}
	f.Fuzz(func(t *testing.T, end []byte, cut uint8) {
		if len(end) > tailKeep/2 {
			return // the property holds while the end is wholly inside the kept tail
		}
		body := []byte(head + skimPad + string(end))
		// Cut-independence of each reader is FuzzSSE's: reads of at least
		// 32 bytes keep this one fast enough to fuzz.
		full, fErr := scanPiecesAPI(t, body, sse, provider.APIOther, len(body)+1)
		if own, _ := scanPiecesAPI(t, end, sse, provider.APIOther, len(end)+1); fErr == nil && full.ErrorType == "" && !own.Known {
			// A stream that ends normally with no usage in its end: the
			// skimming reader cannot tell it from one whose final usage
			// was cut away, and reports the usage unknown rather than
			// message_start's placeholder.
			full.InputTokens, full.OutputTokens, full.CacheCreationInputTokens, full.CacheReadInputTokens, full.ReasoningTokens = 0, 0, 0, 0, 0
			full.Known = false
		}
		for _, n := range []int{len(body) + 1, 32 + int(cut)*16} {
			got, err := scanPiecesAPI(t, body, sse, provider.APIMessages, n)
			if got != full || !errors.Is(err, fErr) || (fErr == nil && err != nil) {
				t.Fatalf("%d-byte reads: skimmed %+v, %v\nfull    %+v, %v", n, got, err, full, fErr)
			}
		}
	})
}

// FuzzSkimJSON ends a JSON body long enough to be skimmed with hostile
// members: for every valid document the skimming reader must find what
// the reader that parses every byte finds; for any other it must not
// panic and must not depend on how the body is cut.
func FuzzSkimJSON(f *testing.F) {
	for _, s := range []string{`,"usage":{"input_tokens":1,"output_tokens":2}}`, `,"usage":{"input_tokens":1},"model":"z","usage":null}`,
		`,"a":"\\\"","usage":{"prompt_tokens":3,"prompt_tokens_details":{"cached_tokens":1}}}`, `}],"usage":{"input_tokens":4}}`,
		`,"x":[{"usage":{"input_tokens":9}}],"usage":{"output_tokens":5}}`, `,"usage":{"input_tokens":5]}`, `"}`} {
		f.Add([]byte(s), []byte(`long "text" \ `), uint8(5))
	}
	f.Fuzz(func(t *testing.T, end, text []byte, cut uint8) {
		if len(end) > tailKeep/2 || longestString(end) > maxWalk || len(text) == 0 {
			return
		}
		q, _ := json.Marshal(strings.Repeat(string(text), 3*tailKeep/len(text)+1))
		body := []byte(`{"id":"x","model":"m","content":` + string(q) + string(end))
		full, fErr := scanPiecesAPI(t, body, "application/json", provider.APIOther, len(body)+1)
		whole, wErr := scanPiecesAPI(t, body, "application/json", provider.APIMessages, len(body)+1)
		piece, pErr := scanPiecesAPI(t, body, "application/json", provider.APIMessages, 32+int(cut)*16)
		if whole != piece || !errors.Is(pErr, wErr) || (wErr == nil && pErr != nil) {
			t.Fatalf("cut-dependent skimmed result:\nwhole %+v %v\npiece %+v %v", whole, wErr, piece, pErr)
		}
		if json.Valid(body) && nesting(body) < maxDepth-1 && (whole != full || !errors.Is(wErr, fErr) || (fErr == nil && wErr != nil)) {
			t.Fatalf("valid document: skimmed %+v, %v\nfull    %+v, %v", whole, wErr, full, fErr)
		}
	})
}

// longestString bounds the longest string in b: the longest run of bytes
// without a quote.
func longestString(b []byte) int {
	longest, run := 0, 0
	for _, c := range b {
		if run++; c == '"' {
			run = 0
		}
		longest = max(longest, run)
	}
	return longest
}
