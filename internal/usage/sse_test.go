package usage

import (
	"strings"
	"testing"
)

func TestFirstEvent(t *testing.T) {
	long := strings.Repeat("x", 3000)
	tests := []struct {
		in   string
		ok   bool
		want Event
	}{
		{"", false, Event{}},
		{"event: message_start", false, Event{}},
		{"event: message_start\n", true, Event{Name: "message_start"}},
		{"event: message_start\r", true, Event{Name: "message_start"}},
		{":ping\r\n\r\nid: 1\r\n\r\nevent: ping\r\n", true, Event{Name: "ping"}},
		{"event:\n", true, Event{}},
		{"event: error\n", false, Event{}},
		{"event: error\rdata: {}\r", false, Event{}},
		{"event: error\rdata: {\rdata: }\r\r", true, Event{Name: "error", Data: []byte("{\n}")}},
		{"event: error\n\n", true, Event{Name: "error"}},
		{"data: {\"id\":1}\r", true, Event{Data: []byte(`{"id":1}`)}},
		{"data:" + long + "\n", true, Event{}}, // longer than the event buffer
		{"event: " + long + "\n", true, Event{Name: long[:40]}},
	}
	for _, tt := range tests {
		got, ok := FirstEvent([]byte(tt.in))
		if ok != tt.ok || got.Name != tt.want.Name || string(got.Data) != string(tt.want.Data) || (got.Data == nil) != (tt.want.Data == nil) {
			t.Errorf("FirstEvent(%.60q) = %q %q %v, want %q %q %v", tt.in, got.Name, got.Data, ok, tt.want.Name, tt.want.Data, tt.ok)
		}
	}
}
