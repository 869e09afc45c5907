package reqbody

import (
	"bytes"
	"io"
	"unicode/utf8"
)

// scanner walks JSON over buf, refilled from r when r is set.
type scanner struct {
	buf      []byte
	pos      int
	r        io.Reader
	store    []byte // buffer r reads into
	consumed int64  // bytes of r before buf
	err      error  // sticky read error (io.EOF at the end)
	// cache is set when a skipped value holds the string "cache_control"
	// (Fields.CacheControl).
	cache bool
}

// more makes buf[pos] readable; false at the end of input. It is split
// from refill so that it inlines: the scanner asks it before every byte,
// and the call was a sixth of the scan's time.
func (s *scanner) more() bool {
	if s.pos < len(s.buf) {
		return true
	}
	return s.refill()
}

// refill reads the next chunk of r into buf; false at the end of input.
func (s *scanner) refill() bool {
	if s.r == nil || s.err != nil {
		return false
	}
	for {
		s.consumed += int64(len(s.buf))
		n, err := s.r.Read(s.store)
		s.buf, s.pos = s.store[:n], 0
		if err != nil {
			s.err = err
		}
		if n > 0 {
			return true
		}
		if err != nil {
			return false
		}
	}
}

// ws skips whitespace and returns the next byte without consuming it.
func (s *scanner) ws() (byte, bool) {
	for s.more() {
		switch c := s.buf[s.pos]; c {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return c, true
		}
	}
	return 0, false
}

func (s *scanner) next() (byte, bool) {
	if !s.more() {
		return 0, false
	}
	c := s.buf[s.pos]
	s.pos++
	return c, true
}

// object reads the top-level object.
func (s *scanner) object() (Fields, error) {
	var f Fields
	if c, ok := s.ws(); !ok || c != '{' {
		return f, ErrNotJSON
	}
	s.pos++
	var key [24]byte
	for first := true; ; first = false {
		c, ok := s.ws()
		if !ok {
			return f, ErrNotJSON
		}
		if c == '}' && first {
			s.pos++
			return f, nil
		}
		if c != '"' {
			return f, ErrNotJSON
		}
		s.pos++
		k, ok := s.str(key[:0], len(key))
		if !ok {
			return f, ErrNotJSON
		}
		if c, ok := s.ws(); !ok || c != ':' {
			return f, ErrNotJSON
		}
		s.pos++
		if !s.field(&f, k) {
			return f, ErrNotJSON
		}
		c, ok = s.ws()
		switch {
		case !ok:
			return f, ErrNotJSON
		case c == '}':
			s.pos++
			return f, nil
		case c != ',':
			return f, ErrNotJSON
		}
		s.pos++
	}
}

// field reads the value of key k into f, or skips it.
func (s *scanner) field(f *Fields, k []byte) bool {
	switch string(k) { // no allocation: the compiler compares in place
	case "model":
		if c, ok := s.ws(); ok && c == '"' {
			s.pos++
			var small [64]byte
			v, ok := s.str(small[:0], 1<<10)
			if ok && v != nil {
				f.Model = modelName(v)
			}
			return ok
		}
	case "max_tokens", "max_completion_tokens", "max_output_tokens":
		if c, ok := s.ws(); ok && (c == '-' || c >= '0' && c <= '9') {
			n, ok := s.integer()
			if n > 0 {
				f.MaxTokens = n
			}
			return ok
		}
	case "stream":
		if c, ok := s.ws(); ok && (c == 't' || c == 'f') {
			v, ok := s.boolean()
			f.Stream = v
			return ok
		}
	case "cache_control": // automatic caching: a breakpoint on the last block
		s.cache = true
	case "stream_options":
		if c, ok := s.ws(); ok && c == '{' {
			return s.streamOptions(f)
		}
	}
	return s.skip()
}

func (s *scanner) streamOptions(f *Fields) bool {
	s.pos++
	var key [16]byte
	for first := true; ; first = false {
		c, ok := s.ws()
		if !ok {
			return false
		}
		if c == '}' && first {
			s.pos++
			return true
		}
		if c != '"' {
			return false
		}
		s.pos++
		k, ok := s.str(key[:0], len(key))
		if !ok {
			return false
		}
		if c, ok := s.ws(); !ok || c != ':' {
			return false
		}
		s.pos++
		if c, _ := s.ws(); string(k) == "include_usage" && (c == 't' || c == 'f') {
			v, ok := s.boolean()
			if !ok {
				return false
			}
			f.IncludeUsage = v
		} else if !s.skip() {
			return false
		}
		c, ok = s.ws()
		switch {
		case !ok:
			return false
		case c == '}':
			s.pos++
			return true
		case c != ',':
			return false
		}
		s.pos++
	}
}

// str reads the rest of a string whose opening quote is consumed, appending
// its unescaped content to dst while it stays within limit bytes. It returns
// nil (and skips the rest) when the content is longer than limit.
func (s *scanner) str(dst []byte, limit int) ([]byte, bool) {
	keep := true
	for {
		if !s.more() {
			return nil, false
		}
		rest := s.buf[s.pos:]
		q := bytes.IndexByte(rest, '"')
		end := q
		if end < 0 {
			end = len(rest)
		}
		bs := bytes.IndexByte(rest[:end], '\\')
		if bs >= 0 {
			end = bs
		}
		if keep {
			if len(dst)+end > limit {
				keep = false
			} else {
				dst = append(dst, rest[:end]...)
			}
		}
		s.pos += end
		switch {
		case bs >= 0:
			s.pos++
			var ok bool
			if dst, ok = s.escape(dst, keep); !ok {
				return nil, false
			}
		case q >= 0:
			s.pos++
			if !keep {
				return nil, true
			}
			if dst == nil {
				dst = []byte{}
			}
			return dst, true
		}
	}
}

// escape reads an escape sequence after its backslash.
func (s *scanner) escape(dst []byte, keep bool) ([]byte, bool) {
	c, ok := s.next()
	if !ok {
		return dst, false
	}
	var r rune
	switch c {
	case '"', '\\', '/':
		r = rune(c)
	case 'b':
		r = '\b'
	case 'f':
		r = '\f'
	case 'n':
		r = '\n'
	case 'r':
		r = '\r'
	case 't':
		r = '\t'
	case 'u':
		for range 4 {
			h, ok := s.next()
			if !ok {
				return dst, false
			}
			switch {
			case h >= '0' && h <= '9':
				r = r<<4 | rune(h-'0')
			case h >= 'a' && h <= 'f':
				r = r<<4 | rune(h-'a'+10)
			case h >= 'A' && h <= 'F':
				r = r<<4 | rune(h-'A'+10)
			default:
				return dst, false
			}
		}
	default:
		return dst, false
	}
	if keep {
		dst = utf8.AppendRune(dst, r)
	}
	return dst, true
}

// integer reads a number, returning it when it is an integer that fits an
// int64 (0 otherwise, as for 1.5, 1e3 or an overflow).
func (s *scanner) integer() (int64, bool) {
	var n int64
	neg, valid, digits := false, true, 0
	for s.more() {
		c := s.buf[s.pos]
		switch {
		case c == '-' && digits == 0 && !neg:
			neg = true
		case c >= '0' && c <= '9':
			if n > (1<<63-1-int64(c-'0'))/10 {
				valid = false
			}
			n = n*10 + int64(c-'0')
			digits++
		case c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-':
			valid = false
		default:
			if !valid || neg || digits == 0 {
				return 0, digits > 0
			}
			return n, true
		}
		s.pos++
	}
	if !valid || neg || digits == 0 {
		return 0, digits > 0
	}
	return n, true
}

// boolean reads true or false.
func (s *scanner) boolean() (bool, bool) {
	c, _ := s.next()
	want := "rue"
	if c == 'f' {
		want = "alse"
	}
	for i := 0; i < len(want); i++ {
		if d, ok := s.next(); !ok || d != want[i] {
			return false, false
		}
	}
	return c == 't', true
}

// skip passes over one value of any type, nested or not.
func (s *scanner) skip() bool {
	depth := 0
	for {
		c, ok := s.ws()
		if !ok {
			return false
		}
		switch c {
		case '"':
			s.pos++
			var small [len("cache_control")]byte
			v, ok := s.str(small[:0], len(small))
			if !ok {
				return false
			}
			if string(v) == "cache_control" {
				s.cache = true
			}
		case '{', '[':
			s.pos++
			depth++
			continue
		case '}', ']':
			if depth == 0 {
				return false
			}
			s.pos++
			depth--
		case ',', ':':
			if depth == 0 {
				return false
			}
			s.pos++
			continue
		default: // a literal: up to the next delimiter
			if !s.literal() {
				return false
			}
		}
		if depth == 0 {
			return true
		}
	}
}

// literal skips a number, true, false or null.
func (s *scanner) literal() bool {
	n := 0
	for s.more() {
		switch s.buf[s.pos] {
		case ',', '}', ']', ' ', '\t', '\n', '\r', ':', '"', '{', '[':
			return n > 0
		}
		s.pos++
		n++
	}
	return n > 0
}
