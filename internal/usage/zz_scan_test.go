package usage

import ("bytes";"testing")

func BenchmarkScanOnly(b *testing.B) {
	var s jsonScanner
	b.SetBytes(int64(len(benchJSON)))
	for b.Loop() {
		s.reset()
		s.feed(benchJSON)
	}
}
func BenchmarkIndexByteOnly(b *testing.B) {
	b.SetBytes(int64(len(benchJSON)))
	n := 0
	for b.Loop() {
		p := benchJSON
		for { j := bytes.IndexByte(p, '"'); if j < 0 {break}; n++; p = p[j+1:] }
	}
}
