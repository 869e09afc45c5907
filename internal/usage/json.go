package usage

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// jsonScanner is a streaming, allocation-free JSON tokenizer that keeps only
// the path of keys down to maxPath and stages the usage values it meets. It
// is written by hand, not taken from encoding/json or a library, because it
// must (a) accept a document in arbitrary pieces without buffering it, (b)
// hold a fixed amount of memory whatever the input, and (c) cost close to
// nothing on the long strings that make up most of an LLM response: string
// bodies are skipped with bytes.IndexByte.
//
// It is lenient where leniency is harmless (literals are not spelled out)
// and gives up on the document (stBad) on any structural error.
type jsonScanner struct {
	state   uint8
	depth   int    // open containers
	objects uint64 // bit d-1 is set when the container at depth d is an object
	keys    [maxPath + 1]keyID

	// string in progress
	strTarget target
	esc       bool // the next string byte is escaped
	capBuf    [maxCapture]byte
	capLen    int
	capBad    bool // overflowed or held an escape: not a usable key or name

	// number in progress
	num   int64
	numOK bool
	numAt field

	started bool
	staged  tally
}

const (
	maxPath    = 4  // deepest path that holds a value we read
	maxDepth   = 64 // deeper documents are given up (the objects bitset)
	maxCapture = 96 // longest key, model name or error type kept
	maxCount   = 1 << 50
)

// Scanner states.
const (
	stValue  uint8 = iota // expecting a value
	stKey                 // expecting a key or '}'
	stColon               // expecting ':'
	stAfter               // expecting ',' or a closing bracket
	stString              // inside a string
	stScalar              // inside a number or literal
	stDone                // one complete top-level value read
	stBad                 // gave up
)

// tally is a set of staged values: what one document (a JSON body, or the
// data of one SSE event) said. Only the fields it names are set.
type tally struct {
	n        [nFields]int64
	seen     uint8 // bit f set when field f was given
	model    [maxCapture]byte
	modelLen int
	errType  [maxCapture]byte
	errLen   int
}

// merge overwrites t with every value o names: provider usage in streams is
// cumulative, so the last value wins.
func (t *tally) merge(o *tally) {
	for f := fieldInput; f < nFields; f++ {
		if o.seen&(1<<f) != 0 {
			t.n[f] = o.n[f]
			t.seen |= 1 << f
		}
	}
	if o.modelLen > 0 {
		t.model, t.modelLen = o.model, o.modelLen
	}
	if o.errLen > 0 {
		t.errType, t.errLen = o.errType, o.errLen
	}
}

// reset makes s a new scanner. Its byte arrays are left as they are —
// their lengths say what of them is meaningful — so that a reset touches
// a few cache lines rather than 400 bytes: readers are recycled, and an
// SSE scanner resets its JSON scanner after every event it parses. A field
// added to jsonScanner must be added here.
func (s *jsonScanner) reset() {
	s.state, s.depth, s.objects, s.keys = stValue, 0, 0, [maxPath + 1]keyID{}
	s.strTarget, s.esc, s.capLen, s.capBad = targetSkip, false, 0, false
	s.num, s.numOK, s.numAt = 0, false, fieldNone
	s.started = false
	s.staged.clear()
}

// clear empties t, leaving its name arrays as they are.
func (t *tally) clear() {
	t.n, t.seen, t.modelLen, t.errLen = [nFields]int64{}, 0, 0, 0
}

// complete reports whether a whole top-level value was read.
func (s *jsonScanner) complete() bool { return s.state == stDone }

// feed scans the next piece of the document.
func (s *jsonScanner) feed(p []byte) {
	if len(p) > 0 {
		s.started = true
	}
	for i := 0; i < len(p); {
		switch s.state {
		case stBad, stDone:
			// Anything after the value is ignored: a JSON body is read once,
			// and an SSE event's data is one value.
			return
		case stString:
			i += s.scanString(p[i:])
		case stScalar:
			// A run of digits without a call per digit.
			j := i
			for j < len(p) && p[j] >= '0' && p[j] <= '9' && s.num < maxCount {
				s.num = s.num*10 + int64(p[j]-'0')
				j++
			}
			if j == i {
				if c := p[i]; c == ',' || c == '}' || c == ']' {
					// The number's end: the byte is read again, after it.
					s.endScalar()
					continue
				}
				s.step(p[i])
				j++
			}
			i = j
		case stKey:
			if p[i] == '"' {
				i += 1 + s.key(p[i+1:])
				continue
			}
			s.step(p[i])
			i++
		case stColon:
			if p[i] == ':' {
				s.state = stValue
				i++
				continue
			}
			s.step(p[i])
			i++
		case stValue:
			s.stepValue(p[i])
			i++
		case stAfter:
			if p[i] == ',' && i+1 < len(p) && p[i+1] == '"' && s.inObject() {
				// `,"`: the next key, without two trips through step.
				i += 2 + s.key(p[i+2:])
				continue
			}
			s.step(p[i])
			i++
		}
	}
}

// key reads a key whose opening quote was just consumed, from p, and
// returns how many bytes it consumed. A key whole in p without an escape
// (nearly every key: they are short) is looked up in place, with the
// colon that nearly always follows it; any other is left to scanString.
func (s *jsonScanner) key(p []byte) int {
	if j := quoteOrBackslash(p[:min(len(p), maxCapture+1)]); j >= 0 && p[j] == '"' {
		s.endKey(p[:j], false)
		if j+1 < len(p) && p[j+1] == ':' {
			s.state = stValue
			return j + 2
		}
		return j + 1
	}
	s.beginString(targetKey)
	return 0
}

// quoteOrBackslash returns the index of the first '"' or '\\' in b, or
// -1: eight bytes at a time, which beats both a loop and a call to
// bytes.IndexAny on the short strings keys are.
func quoteOrBackslash(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		v := binary.LittleEndian.Uint64(b[i:])
		if z := bytesEqual(v, '"') | bytesEqual(v, '\\'); z != 0 {
			return i + bits.TrailingZeros64(z)/8
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' {
			return i
		}
	}
	return -1
}

// bytesEqual returns, for the eight bytes of v, a word whose high bit is
// set in each byte equal to c and clear in every other: exact, with no
// borrow from one byte into the next (the common v-0x01…&^v&0x80… test
// can flag the byte above a match).
func bytesEqual(v uint64, c byte) uint64 {
	const (
		ones = 0x0101010101010101
		low7 = 0x7f7f7f7f7f7f7f7f
	)
	x := v ^ (uint64(c) * ones) // zero bytes where v holds c
	return ^((x&low7 + low7) | x | low7)
}

// scanString consumes string bytes up to and including the closing quote
// and returns how many it consumed.
func (s *jsonScanner) scanString(p []byte) int {
	if s.strTarget == targetSkip {
		return s.skipString(p)
	}
	i := 0
	if s.esc {
		s.capture(p[:1])
		s.esc = false
		i = 1
	}
	for {
		j := bytes.IndexByte(p[i:], '"')
		if j < 0 {
			s.capture(p[i:])
			s.esc = oddBackslashes(p[i:])
			return len(p)
		}
		if oddBackslashes(p[i : i+j]) { // an escaped quote
			s.capture(p[i : i+j+1])
			i += j + 1
			continue
		}
		s.capture(p[i : i+j])
		s.endString()
		return i + j + 1
	}
}

func hasBackslash(b []byte) bool {
	for _, c := range b {
		if c == '\\' {
			return true
		}
	}
	return false
}

// oddBackslashes reports whether b ends in an odd run of backslashes, that
// is, whether the byte after b is escaped. b starts at an unescaped position.
func oddBackslashes(b []byte) bool {
	n := 0
	for k := len(b) - 1; k >= 0 && b[k] == '\\'; k-- {
		n++
	}
	return n%2 == 1
}

// skipString is scanString for a string whose content is not kept: most
// of a response's bytes. One bytes.IndexByte per quote is the floor on a
// quote-dense completion; the escape check looks back only from a quote.
func (s *jsonScanner) skipString(p []byte) int {
	i := 0
	if s.esc {
		s.esc = false
		i = 1
	}
	for {
		j := bytes.IndexByte(p[i:], '"')
		if j < 0 {
			s.esc = oddBackslashes(p[i:])
			return len(p)
		}
		k := i + j
		if k > i && p[k-1] == '\\' && oddBackslashes(p[i:k]) { // an escaped quote
			i = k + 1
			continue
		}
		s.endString()
		return k + 1
	}
}

func (s *jsonScanner) capture(b []byte) {
	if s.strTarget == targetSkip || s.capBad {
		return
	}
	s.captureSlow(b)
}

func (s *jsonScanner) captureSlow(b []byte) {
	if s.capLen+len(b) > len(s.capBuf) {
		s.capBad = true
		return
	}
	// Keys and model names are short: a loop beats a call to IndexByte.
	if hasBackslash(b) {
		s.capBad = true
		return
	}
	s.capLen += copy(s.capBuf[s.capLen:], b)
}

// endKey ends a key whose text is v (bad: unusable).
func (s *jsonScanner) endKey(v []byte, bad bool) {
	if s.depth <= maxPath {
		k := keyOther
		if !bad && len(v) <= maxCapture {
			k = lookupKey(v)
		}
		s.keys[s.depth] = k
	}
	s.state = stColon
}

func (s *jsonScanner) endString() {
	v := s.capBuf[:s.capLen]
	switch s.strTarget {
	case targetKey:
		s.endKey(v, s.capBad)
		return
	case targetModel:
		s.staged.modelLen = 0
		if !s.capBad {
			s.staged.modelLen = copy(s.staged.model[:], v)
		}
	case targetError:
		s.staged.errLen = 0
		if !s.capBad {
			s.staged.errLen = copy(s.staged.errType[:], v)
		}
	}
	s.endValue()
}

func (s *jsonScanner) beginString(t target) {
	s.state, s.strTarget, s.capLen, s.capBad, s.esc = stString, t, 0, false, false
}

// endValue moves past a complete value.
func (s *jsonScanner) endValue() {
	if s.depth == 0 {
		s.state = stDone
	} else {
		s.state = stAfter
	}
}

func (s *jsonScanner) inObject() bool { return s.objects&(1<<(s.depth-1)) != 0 }

func (s *jsonScanner) push(object bool) {
	if s.depth >= maxDepth {
		s.state = stBad
		return
	}
	s.depth++
	if object {
		s.objects |= 1 << (s.depth - 1)
		s.state = stKey
	} else {
		s.objects &^= 1 << (s.depth - 1)
		s.state = stValue
	}
	if s.depth <= maxPath {
		s.keys[s.depth] = keyNone
	}
}

func (s *jsonScanner) pop(object bool) {
	if s.depth == 0 || s.inObject() != object {
		s.state = stBad
		return
	}
	s.depth--
	s.endValue()
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// step consumes one byte outside a string.
func (s *jsonScanner) step(c byte) {
	switch s.state {
	case stScalar:
		if c >= '0' && c <= '9' {
			if s.num < maxCount {
				s.num = s.num*10 + int64(c-'0')
			} else {
				s.numOK = false
			}
			return
		}
		if !isSpace(c) && c != ',' && c != '}' && c != ']' {
			s.numOK = false // '.', 'e', letters of a literal: not a count
			return
		}
		s.endScalar()
		s.step(c)
	case stValue:
		s.stepValue(c)
	case stKey:
		switch {
		case isSpace(c):
		case c == '"':
			s.beginString(targetKey)
		case c == '}':
			s.pop(true)
		default:
			s.state = stBad
		}
	case stColon:
		switch {
		case isSpace(c):
		case c == ':':
			s.state = stValue
		default:
			s.state = stBad
		}
	case stAfter:
		switch {
		case isSpace(c):
		case c == ',':
			if s.inObject() {
				s.state = stKey
			} else {
				s.state = stValue
			}
		case c == '}':
			s.pop(true)
		case c == ']':
			s.pop(false)
		default:
			s.state = stBad
		}
	}
}

func (s *jsonScanner) stepValue(c byte) {
	if isSpace(c) {
		return
	}
	// The last value at a path wins, whatever its type: a value that is not
	// a count (or not a name) clears what an earlier duplicate key set.
	// Only paths under a key that names something (usage, message, model…)
	// can hold either.
	at, t := fieldNone, targetSkip
	if d := s.depth; d > 0 && d <= maxPath && s.keys[1] > keyOther {
		at, t = numberField(&s.keys, d), stringTarget(&s.keys, d)
		if c < '0' || c > '9' {
			s.staged.seen &^= 1 << at
		}
		if c != '"' {
			switch t {
			case targetModel:
				s.staged.modelLen = 0
			case targetError:
				s.staged.errLen = 0
			}
		}
	}
	switch {
	case c == '"':
		s.beginString(t)
	case c >= '0' && c <= '9':
		s.state, s.num, s.numOK, s.numAt = stScalar, int64(c-'0'), true, at
	case c == '{':
		s.push(true)
	case c == '[':
		s.push(false)
	case c == ']' && s.depth > 0 && !s.inObject():
		s.pop(false) // empty array (lenient: also accepts a trailing comma)
	case c == '-' || (c >= 'a' && c <= 'z'):
		s.state, s.num, s.numOK, s.numAt = stScalar, 0, false, fieldNone
	default:
		s.state = stBad
	}
}

func (s *jsonScanner) endScalar() {
	if s.numAt != fieldNone {
		if s.numOK {
			s.staged.n[s.numAt] = s.num
			s.staged.seen |= 1 << s.numAt
		} else {
			s.staged.seen &^= 1 << s.numAt
		}
	}
	s.endValue()
}

// finish ends the document at the end of its input: a top-level number is
// complete only then.
func (s *jsonScanner) finish() {
	if s.state == stScalar && s.depth == 0 {
		s.endScalar()
	}
}
