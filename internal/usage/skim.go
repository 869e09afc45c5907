package usage

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// Skimming. A Messages or chat-completions body says everything the meter
// reads in two places: its head (the model, and Anthropic's input usage in
// message_start) and its last few hundred bytes (the usage object at the
// end of a JSON body; message_delta, message_stop, the include_usage chunk
// and [DONE] at the end of a stream). Everything between is completion
// text, which even a parser that only looks for quotes and line ends pays
// for byte by byte (measured: 7 µs for a 10 KB quote-dense message, 50 ns
// per stream event — up to half again what reading the body over loopback
// costs). So such a body is read in two parts:
//
//   - The head is parsed as it passes, until the model is known and the
//     parser stands at a clean place: between events, or after a top-level
//     member (a few hundred bytes: message_start, the first chat chunk, a
//     JSON body's first members). A body whose model comes late is parsed
//     that far; one that names none is parsed to its end, byte by byte.
//   - Of everything after the head, only the last tailKeep bytes are kept
//     (a copy of at most 2 KB per read), and parsed in one pass at the end
//     of the body, while the parser's code and state are in the cache once
//     rather than at every read. If they are all that came after the head,
//     parsing simply goes on: the result is exactly a full parse's.
//   - Otherwise the parser resumes inside the tail. JSON has no marker a
//     forward parser could resynchronise on, but read backwards from the
//     end of a document it is unambiguous: the last byte closes the
//     top-level object, and a quote opens a string exactly when an even
//     run of backslashes precedes it. jsonResume walks back to the leftmost
//     top-level key it can see and the forward parser restarts there,
//     inside the object. An SSE stream resynchronises on its first line
//     end in the tail; the line cut in two is resumed the same way, as the
//     JSON data of an event.
//
// Where the head ends and what the tail keeps depend only on the body, not
// on how its reads cut it, so the result does not either (FuzzSSE,
// FuzzSkimSSE, FuzzSkimJSON).
//
// What skimming gives up: a value after the head and more than tailKeep
// bytes before the end of the body is not seen, nor, in JSON, one that
// precedes a string longer than maxWalk in that stretch. No provider puts
// usage there on these endpoints: it follows the completion text. A JSON
// body whose last top-level member cannot be walked back over is complete
// with its usage unknown; a stream whose tail holds no line end reads as
// cut where the head ended. OpenAI Responses bodies are always parsed byte
// by byte: a response event repeats the whole response, so its usage can
// sit any distance from the end.

// tailKeep is how many of the last bytes of a skimmed body are kept:
// several times what the providers' last events or trailing JSON members
// take (message_delta and message_stop about 350 bytes, an include_usage
// chunk and [DONE] about 450; only the part from the "usage" key on has
// to be inside).
const tailKeep = 2 << 10

// tail keeps the last tailKeep bytes that passed, in order, so that the
// end of a body is parsed where it lies. It is a window sliding over a
// buffer twice that size rather than a ring, which would have to be
// unrolled (about 4 KB of copying, through a scratch buffer, after the rest
// of the call has pushed both out of the cache: measured, as much as the
// parse of the tail itself). A write copies at most tailKeep bytes, as a
// ring's would: one at least that long replaces the window, a shorter one
// is appended, and only when it does not fit are the window's last bytes
// moved back to the start, once per tailKeep bytes or more appended. Reads
// of 4 KB, what net/http hands an SDK from a backlog, never move anything.
type tail struct {
	buf   [2 * tailKeep]byte
	end   int   // the window is buf[max(0, end-tailKeep):end]
	total int64 // bytes that passed
}

func (t *tail) reset() { t.end, t.total = 0, 0 }

func (t *tail) write(p []byte) {
	t.total += int64(len(p))
	if len(p) >= tailKeep {
		t.end = copy(t.buf[:], p[len(p)-tailKeep:])
		return
	}
	if t.end+len(p) > len(t.buf) {
		keep := tailKeep - len(p) // of the window, what p does not push out
		t.end = copy(t.buf[:], t.buf[t.end-keep:t.end])
	}
	t.end += copy(t.buf[t.end:], p)
}

// bytes returns the kept bytes in order, and whether they are all that
// passed: whether a body was skimmed whole depends only on its length, not
// on how its reads cut it.
func (t *tail) bytes() ([]byte, bool) {
	return t.buf[max(0, t.end-tailKeep):t.end], t.total <= tailKeep
}

// jsonResume reads b backwards from its end and returns the offset of the
// leftmost key of the top-level object that it can tell for certain is
// one, or -1. b is the end of a JSON document (or of an SSE data value)
// whose last non-space byte closes the top-level object, and does not
// hold the document's first byte. clean reports
// that b is, as far as the walk went, the end of a valid document: false
// when it found b does not end that way or is not JSON. On a valid
// document the answer is exact; on anything else the forward parse that
// resumes at the key finds the document invalid.
func jsonResume(b []byte) (at int, clean bool) {
	i := len(b) - 1
	for i >= 0 && isSpace(b[i]) {
		i--
	}
	if i < 0 || b[i] != '}' || escaped(b, i) {
		return -1, false
	}
	at = -1
	depth := 1
	var objects uint64 = 1 // bit d-1: the container at depth d is an object
	colon := false         // the next significant byte (forwards) is ':'
	for i--; i >= 0; i-- {
		c := b[i]
		if isSpace(c) {
			continue
		}
		switch {
		case c == '"':
			// The end of a string: its opening quote is the first one
			// before it that is not escaped.
			if n := backslashesBefore(b, i); n > 0 && i-n == 0 {
				return at, true // the run may start before b: stop here
			} else if n%2 == 1 {
				return at, false // an escaped quote outside a string
			}
			j, lo := i, max(0, i-maxWalk)
			for {
				q := lastQuote(b[lo:j])
				if q < 0 {
					// The string starts before b, or is longer than maxWalk:
					// what lies before it is not needed.
					return at, true
				}
				q += lo
				n := backslashesBefore(b, q)
				if q-n == 0 && n > 0 {
					return at, true // the run of backslashes may start before b
				}
				if n%2 == 0 {
					i = q
					break
				}
				j = q
			}
			if colon && depth == 1 {
				at = i
			}
			colon = false
			continue
		case c == ':':
			if colon {
				return at, false
			}
			colon = true
			continue
		case c == '}' || c == ']':
			if depth >= maxDepth {
				return at, false
			}
			depth++
			if c == '}' {
				objects |= 1 << (depth - 1)
			} else {
				objects &^= 1 << (depth - 1)
			}
		case c == '{' || c == '[':
			if (objects&(1<<(depth-1)) != 0) != (c == '{') {
				return at, false
			}
			if depth--; depth == 0 {
				// b starts after the document's first byte, so this is
				// not its start: b does not end where the document does
				// (a body cut after some inner '}'), and every depth
				// counted so far was wrong.
				return -1, false
			}
		case c == ',', c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'E',
			c == 'a', c == 'e', c == 'f', c == 'l', c == 'n', c == 'r', c == 's', c == 't', c == 'u':
		default:
			return at, false // not JSON outside a string
		}
		if colon {
			return at, false // a ':' must follow a key
		}
	}
	return at, true
}

// lastQuote is bytes.LastIndexByte(b, '"') eight bytes at a time:
// bytes.LastIndexByte tests a byte per iteration (it has no assembly
// version), and jsonResume crosses kilobytes of completion text backwards.
func lastQuote(b []byte) int {
	i := len(b)
	for ; i >= 8; i -= 8 {
		if z := bytesEqual(binary.LittleEndian.Uint64(b[i-8:i]), '"'); z != 0 {
			return i - 8 + 7 - bits.LeadingZeros64(z)/8
		}
	}
	for i--; i >= 0; i-- {
		if b[i] == '"' {
			return i
		}
	}
	return -1
}

// maxWalk is the longest string jsonResume walks back through. A string
// longer than that is taken as the start of what can be read: the members
// a skimming reader needs follow the completion text, are made of short
// strings (stop reasons, service tiers, fingerprints), and walking back
// through the text, quote by escaped quote, would cost more than parsing
// them (measured: 1.2 µs for 2 KB of a quote-dense message, 0.6 µs for
// 512 bytes).
const maxWalk = 128

// backslashesBefore returns the length of the run of backslashes that
// ends just before b[i].
func backslashesBefore(b []byte, i int) int {
	n := 0
	for i-n-1 >= 0 && b[i-n-1] == '\\' {
		n++
	}
	return n
}

// escaped reports whether b[i] is preceded by an odd run of backslashes
// that starts inside b; a run that reaches b's start counts as escaped,
// since its parity cannot be known.
func escaped(b []byte, i int) bool {
	n := backslashesBefore(b, i)
	return n%2 == 1 || (n > 0 && i-n == 0)
}

// resumeObject puts s inside a top-level object, before a key, keeping the
// values it staged so far.
func (s *jsonScanner) resumeObject() {
	staged := s.staged
	*s = jsonScanner{state: stKey, depth: 1, objects: 1, started: true, staged: staged}
}

// resume continues the stream from the kept end of a body after bytes
// were dropped: the line the tail starts in the middle of is taken as the
// tail of an unnamed event's JSON data, and the stream goes on from its
// end.
func (s *sseScanner) resume(b []byte) {
	s.state, s.afterCR = lnStart, false
	s.clearEvent()
	eol := bytes.IndexAny(b, "\r\n")
	if eol < 0 {
		return // no line ends in the tail: nothing after the head can be read
	}
	s.state, s.value, s.leadSp = lnValue, valIgnore, false
	// The line is parsed only if worthParsing would parse an unnamed
	// event's data: nearly always it is the end of a content delta.
	if k, _ := jsonResume(b[:eol]); k >= 0 && s.worthParsing(b[k:eol]) {
		s.value, s.dataLines, s.evStream, s.dataLen = valData, 1, true, len(s.dataHead)+1
		s.js.resumeObject()
		b = b[k:]
	} else {
		b = b[eol:]
	}
	s.feed(b)
}
