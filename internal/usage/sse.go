package usage

import "bytes"

// sseScanner splits a text/event-stream into events as bytes arrive and
// feeds the data of the events that can carry usage to a jsonScanner. Its
// memory is fixed: field and event names are kept in small arrays (longer
// ones are ignored), and an event's data is copied into a 2 KB array only
// so that a cheap substring test can skip the chunks that cannot carry
// usage (every OpenAI chat chunk is otherwise a JSON document to parse); a
// larger event is streamed into the JSON scanner instead, so a 10 MB data
// line costs no memory. Hand-written for the same
// reasons as jsonScanner; it follows the WHATWG event-stream grammar (LF,
// CR or CRLF line ends; "field: value" with one optional space; a blank
// line dispatches the event).
type sseScanner struct {
	state   uint8
	afterCR bool // the previous byte was a CR: a following LF is part of it

	field    [8]byte
	fieldLen int // > len(field) when too long to be a field we read
	value    uint8
	leadSp   bool // the value's optional leading space has not been checked

	event    [40]byte
	eventLen int  // > len(event) when too long to be an event we read
	relevant bool // the event's name, once its line ended, is eventRelevant
	final    bool // … and eventTerminal

	// lfOnly is set while the piece being fed holds no CR: lines then end
	// at LF alone, found with one bytes.IndexByte.
	lfOnly bool
	// tokensAt and errorAt are 1 + where the piece being fed next holds
	// tokensKey and errorTail, at or after where they were last looked
	// for (1 + its length when it holds no more; 0 before the first look):
	// skipUnworthy's bounds.
	tokensAt, errorAt int

	dataLines int
	evBuf     [2048]byte // the event's data while it fits
	evLen     int
	evStream  bool    // the data outgrew evBuf and goes straight to js
	dataLen   int     // bytes of data on the current line
	dataHead  [6]byte // its first bytes, to spot "[DONE]"

	js       jsonScanner
	total    *tally
	terminal bool // the stream's final event was seen

	// peek makes the scanner FirstEvent's: it reads line by line (no fast
	// paths, so every line ends in endLine) and feed stops at the first
	// line start after peeked, which is set where the first event says
	// what it is.
	peek, peeked bool
}

// reset makes s a new scanner adding to total, leaving its buffers as
// they are (see jsonScanner.reset). A field added to sseScanner must be
// added here.
func (s *sseScanner) reset(total *tally) {
	s.state, s.afterCR = lnStart, false
	s.fieldLen, s.value, s.leadSp = 0, valIgnore, false
	s.eventLen, s.relevant, s.final, s.lfOnly = 0, false, false, false
	s.tokensAt, s.errorAt = 0, 0
	s.dataLines, s.evLen, s.evStream, s.dataLen = 0, 0, false, 0
	s.js.reset()
	s.total, s.terminal = total, false
	s.peek, s.peeked = false, false
}

// Line states.
const (
	lnStart uint8 = iota
	lnField
	lnValue
)

// Value kinds.
const (
	valIgnore uint8 = iota
	valData
	valEvent
)

var (
	done = []byte("[DONE]")
	lf   = []byte{'\n'}
)

// feed scans the next piece of the stream, or of it up to where peek
// stops it.
func (s *sseScanner) feed(p []byte) {
	s.lfOnly = !s.afterCR && !s.peek && bytes.IndexByte(p, '\r') < 0
	s.tokensAt, s.errorAt = 0, 0
	for i := 0; i < len(p); {
		if s.afterCR {
			s.afterCR = false
			if p[i] == '\n' {
				i++
				continue
			}
		}
		switch s.state {
		case lnStart:
			if s.peeked {
				return
			}
			if c := p[i]; c == '\n' || c == '\r' {
				s.dispatch()
				s.afterCR = c == '\r'
				i++
				continue
			}
			if s.lfOnly && s.eventLen > 0 && !s.relevant && !s.final {
				if n := s.skipIgnored(p[i:]); n > 0 {
					i += n
					continue
				}
			}
			if s.lfOnly && s.eventLen == 0 && s.dataLines == 0 && s.total.modelLen > 0 {
				if n := s.skipUnworthy(p, i); n > 0 {
					i += n
					continue
				}
			}
			if s.lfOnly {
				if n := s.fastLine(p[i:]); n > 0 {
					i += n
					continue
				}
			}
			s.state, s.fieldLen = lnField, 0
		case lnField:
			i += s.scanField(p[i:])
		case lnValue:
			i += s.scanValue(p[i:])
		}
	}
}

// fastLine reads a whole "data:" or "event:" line at once, which is what
// nearly every line of a provider's stream is, instead of byte by byte: it
// does what scanField, scanValue and endLine would, with one
// bytes.IndexByte. The data of an event whose name says it cannot carry
// usage (most of an Anthropic or Responses stream: the text deltas) is not
// even looked at. It returns 0, leaving the line to the field-by-field
// path, for any other line and for a line not complete in p. p starts at
// the line's first byte and holds no CR.
func (s *sseScanner) fastLine(p []byte) int {
	nl := bytes.IndexByte(p, '\n')
	if nl < 0 {
		return 0
	}
	line := p[:nl]
	v, ok := cutField(line, "data")
	if ok {
		s.fieldLen = copy(s.field[:], "data")
	} else if v, ok = cutField(line, "event"); ok {
		s.fieldLen = copy(s.field[:], "event")
	} else {
		return 0
	}
	s.startValue()
	s.leadSp = false
	if s.value == valData && s.dataLines == 1 && s.parsing() && nl+1 < len(p) && p[nl+1] == '\n' {
		// A one-line event complete in p (every OpenAI chat chunk): judge
		// and parse its data in place instead of copying it to evBuf.
		s.noteData(v)
		s.endLine()
		if s.worthParsing(v) {
			s.js.feed(v)
		}
		s.evStream = true // the data went to js already
		s.dispatch()
		return nl + 2
	}
	if s.value == valData && s.eventLen > 0 && !s.relevant {
		// Only "[DONE]" matters in an ignored event's data.
		s.noteData(v)
	} else {
		s.onValue(v)
	}
	s.endLine()
	return nl + 1
}

// cutField returns the value of line when it is the field name, without
// the one optional space after the colon.
func cutField(line []byte, name string) ([]byte, bool) {
	if len(line) <= len(name) || string(line[:len(name)]) != name || line[len(name)] != ':' {
		return nil, false
	}
	v := line[len(name)+1:]
	if len(v) > 0 && v[0] == ' ' {
		v = v[1:]
	}
	return v, true
}

// noteData records the start and length of a data value, which is all
// endLine needs to spot "[DONE]".
func (s *sseScanner) noteData(v []byte) {
	s.dataLen = len(v)
	copy(s.dataHead[:], v)
}

// skipIgnored runs through a series of events that cannot carry usage —
// the content deltas and pings that are nearly all of an Anthropic or
// Responses stream — as long as each is exactly a "data:" line and a blank
// line, and the next one starts with an "event:" line naming another such
// event: two bytes.IndexByte per event, and none of fastLine's
// bookkeeping. It is called at the start of a line of an ignored event (its
// name already read) and returns how many bytes it consumed, stopping,
// always at a line start, at anything else. p holds no CR.
func (s *sseScanner) skipIgnored(p []byte) int {
	i := 0
	for {
		n := dataEvent(p[i:])
		if n == 0 {
			return i
		}
		i += n
		s.dispatch() // an ignored event: nothing is parsed, nothing ends
		q := p[i:]
		nl := bytes.IndexByte(q, '\n')
		if nl < 0 {
			return i
		}
		name, ok := cutField(q[:nl], "event")
		if !ok || len(name) == 0 || len(name) > len(s.event) || eventRelevant(name) || eventTerminal(name) {
			return i
		}
		s.eventLen = copy(s.event[:], name)
		i += nl + 1
	}
}

// skipUnworthy is skipIgnored for unnamed events (OpenAI chat chunks): it
// runs through the events from p[i:] on that are exactly a "data:" line
// and a blank line and whose data worthParsing would turn down, with one
// bytes.IndexByte per event. Instead of testing each chunk's data, it
// looks for worthParsing's needles once in the rest of p, and stops at the
// first event they may lie in. It is called at the start of a line between
// events, once the model is known, and returns how many bytes it consumed.
// p holds no CR.
func (s *sseScanner) skipUnworthy(p []byte, i int) int {
	if p[i] != 'd' {
		return 0 // an "event:" line (a named event), or another field
	}
	s.tokensAt = nextAt(p, i, s.tokensAt, tokensKey)
	s.errorAt = nextAt(p, i, s.errorAt, errorTail)
	hit := min(s.tokensAt, s.errorAt) - 1
	start := i
	for {
		n := dataEvent(p[i:])
		if n == 0 || i+n-2 > hit { // the needles may lie in its data line
			return i - start
		}
		i += n // an event with nothing to parse: dispatching it changes nothing
	}
}

// dataEvent returns the length of the one-line event q starts with — a
// "data:" line and a blank line — or 0 when q starts with anything else,
// with an event not whole in q, or with "[DONE]", which the field-by-field
// path and fastLine mark. q holds no CR.
func dataEvent(q []byte) int {
	nl := bytes.IndexByte(q, '\n')
	if nl < 0 || nl+1 == len(q) || q[nl+1] != '\n' {
		return 0
	}
	if v, ok := cutField(q[:nl], "data"); !ok || string(v) == string(done) {
		return 0
	}
	return nl + 2
}

// nextAt returns 1 + where p holds needle at or after i, or 1 + len(p),
// given at, the answer of an earlier look in p (or 0).
func nextAt(p []byte, i, at int, needle []byte) int {
	if at > i {
		return at
	}
	if k := bytes.Index(p[i:], needle); k >= 0 {
		return i + k + 1
	}
	return len(p) + 1
}

// scanField reads a field name up to its colon or the end of the line.
func (s *sseScanner) scanField(p []byte) int {
	for i, c := range p {
		switch c {
		case ':':
			s.startValue()
			return i + 1
		case '\n', '\r':
			// A line without a colon is a field with an empty value.
			s.startValue()
			s.endLine()
			s.afterCR = c == '\r'
			return i + 1
		}
		if s.fieldLen < len(s.field) {
			s.field[s.fieldLen] = c
		}
		s.fieldLen++
	}
	return len(p)
}

func (s *sseScanner) startValue() {
	s.state, s.leadSp, s.value = lnValue, true, valIgnore
	if s.fieldLen > len(s.field) {
		return
	}
	switch string(s.field[:s.fieldLen]) {
	case "data":
		s.value, s.dataLen = valData, 0
		if s.dataLines > 0 && s.parsing() {
			s.appendData(lf) // data lines join with LF
		}
		s.dataLines++
	case "event":
		s.value, s.eventLen, s.relevant, s.final = valEvent, 0, false, false
	}
}

// parsing reports whether the current event's data goes to the JSON
// scanner: unnamed events (OpenAI chat) and the named events that matter.
func (s *sseScanner) parsing() bool {
	return s.eventLen == 0 || s.relevant
}

// classify sets relevant and final from the event name read so far.
func (s *sseScanner) classify() {
	s.relevant, s.final = false, false
	if s.eventLen > 0 && s.eventLen <= len(s.event) {
		name := s.event[:s.eventLen]
		s.relevant, s.final = eventRelevant(name), eventTerminal(name)
	}
}

// scanValue reads value bytes up to the end of the line.
func (s *sseScanner) scanValue(p []byte) int {
	var j int
	if s.lfOnly {
		j = bytes.IndexByte(p, '\n')
	} else {
		j = indexEOL(p)
	}
	v := p
	if j >= 0 {
		v = p[:j]
	}
	if s.leadSp && len(v) > 0 {
		s.leadSp = false
		if v[0] == ' ' {
			v = v[1:]
		}
	}
	s.onValue(v)
	if j < 0 {
		return len(p)
	}
	s.endLine()
	s.afterCR = p[j] == '\r'
	return j + 1
}

func indexEOL(p []byte) int {
	j := bytes.IndexByte(p, '\n')
	seg := p
	if j >= 0 {
		seg = p[:j]
	}
	if k := bytes.IndexByte(seg, '\r'); k >= 0 {
		return k
	}
	return j
}

func (s *sseScanner) onValue(v []byte) {
	switch s.value {
	case valData:
		if s.dataLen < len(s.dataHead) {
			copy(s.dataHead[s.dataLen:], v)
		}
		s.dataLen += len(v)
		if s.parsing() {
			s.appendData(v)
		}
	case valEvent:
		if s.eventLen < len(s.event) {
			copy(s.event[s.eventLen:], v) // a longer name keeps its head (FirstEvent)
		}
		s.eventLen += len(v)
	}
}

func (s *sseScanner) endLine() {
	if s.value == valEvent {
		s.classify()
	}
	if s.peek {
		s.peekLine()
	}
	if s.value == valData && s.dataLen == len(done) && bytes.Equal(s.dataHead[:], done) {
		s.terminal = true // OpenAI chat: data: [DONE]
	}
	s.state = lnStart
}

// appendData adds to the current event's data.
func (s *sseScanner) appendData(b []byte) {
	switch {
	case s.evStream:
		s.js.feed(b)
	case s.evLen+len(b) <= len(s.evBuf):
		s.evLen += copy(s.evBuf[s.evLen:], b)
	default:
		s.evStream = true
		s.js.feed(s.evBuf[:s.evLen])
		s.js.feed(b)
	}
}

var (
	tokensKey = []byte("_tokens")
	errorTail = []byte(`rror"`)
)

// worthParsing reports whether buffered data can say anything new: named
// events were chosen by name; of the unnamed ones (OpenAI chat chunks) only
// the first (for the model), those with a *_tokens key and errors matter.
// The tests are prefilters, and a false positive only costs a parse: '_'
// is rare in a chunk, so it is found with IndexByte rather than
// bytes.Contains; `rror"` rather than `"error"` because a needle that
// starts with a quote stops at every key (measured on a 170-byte chat
// chunk: 110 ns for the two bytes.Contains, 65 ns for these).
func (s *sseScanner) worthParsing(data []byte) bool {
	if s.eventLen > 0 || s.total.modelLen == 0 {
		return true
	}
	for p := data; ; {
		j := bytes.IndexByte(p, '_')
		if j < 0 {
			break
		}
		if bytes.HasPrefix(p[j:], tokensKey) {
			return true
		}
		p = p[j+1:]
	}
	return bytes.Contains(data, errorTail)
}

// dispatch ends an event: its staged values count only when its data was
// one complete JSON value.
func (s *sseScanner) dispatch() {
	if s.state == lnValue && s.value == valEvent {
		s.classify() // the stream ended on the event line
	}
	if s.peek && s.eventLen > 0 {
		s.peeked = true // an "error" event's end: peekLine settled the others
		return
	}
	if s.dataLines > 0 && s.parsing() {
		if !s.evStream && s.worthParsing(s.evBuf[:s.evLen]) {
			s.js.feed(s.evBuf[:s.evLen])
		}
		s.js.finish()
		if s.js.complete() {
			s.total.merge(&s.js.staged)
		}
	}
	if s.final {
		s.terminal = true
	}
	s.clearEvent()
}

// clearEvent forgets the event in progress: its name, its data and its
// JSON scanner's state.
func (s *sseScanner) clearEvent() {
	if s.js.started {
		s.js.reset()
	}
	s.eventLen, s.relevant, s.final, s.dataLines, s.evLen, s.evStream = 0, false, false, 0, 0, false
}

// Event is the start of a text/event-stream's first event, as FirstEvent
// reads it.
type Event struct {
	// Name is the event's name (its first 40 bytes when longer); empty
	// when it has none.
	Name string
	// Data is what the event's data can say about the stream: an "error"
	// event's data, or the first data line of an event without a name (an
	// OpenAI chat chunk, which carries an "error" object when the stream
	// failed). Nil when empty, for other events, and when longer than
	// 2 KB.
	Data []byte
}

// FirstEvent reads the first event of the text/event-stream whose first
// bytes are p, with the scanner the meter reads streams with (LF, CR or
// CRLF line ends; comments and events without fields are skipped). It
// decides as early as the bytes allow, so that a caller holding a stream
// back to look at it holds it no longer than needed: at the end of the
// first "event:" line, unless it names "error"; at the end of the first
// data line of an event without a name; at the end (a blank line) of an
// "error" event. ok is false while p does not reach that far.
func FirstEvent(p []byte) (e Event, ok bool) {
	st := statePool.Get().(*scanState)
	defer statePool.Put(st)
	s := &st.sse
	s.reset(&st.total)
	s.peek = true
	s.feed(p)
	if !s.peeked {
		return Event{}, false
	}
	e.Name = string(s.event[:min(s.eventLen, len(s.event))])
	if (e.Name == "" || e.Name == "error") && s.evLen > 0 && !s.evStream {
		e.Data = bytes.Clone(s.evBuf[:s.evLen])
	}
	return e, true
}

// peekLine sets peeked at the end of a line that settles the first event
// (see FirstEvent).
func (s *sseScanner) peekLine() {
	switch {
	case s.value == valEvent:
		s.peeked = s.eventLen != len("error") || string(s.event[:s.eventLen]) != "error"
	case s.value == valData:
		s.peeked = s.eventLen == 0
	}
}
