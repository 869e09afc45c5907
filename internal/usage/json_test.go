package usage

import "testing"

// quoteOrBackslash must find the first quote or backslash at every
// position, past bytes one either side of both (where a borrow between
// bytes would show) and bytes above 0x7f.
func TestQuoteOrBackslash(t *testing.T) {
	for n := 0; n < 40; n++ {
		for at := -1; at < n; at++ {
			for _, c := range []byte{'"', '\\'} {
				b := make([]byte, n)
				for i := range b {
					b[i] = []byte{'"' - 1, '"' + 1, '\\' - 1, '\\' + 1, 0x80 | '"', 0x80 | '\\', 'a'}[i%7]
				}
				if at >= 0 {
					b[at] = c
					for i := at + 1; i < n; i += 3 {
						b[i] = '"' // later ones must not win
					}
				}
				if got := quoteOrBackslash(b); got != at {
					t.Fatalf("quoteOrBackslash(%q) = %d, want %d", b, got, at)
				}
			}
		}
	}
}
