package usage

import (
	"reflect"
	"testing"
	"unsafe"
)

// junk sets every field of the struct v points to, however deep, to a
// value that is not its zero value.
func junk(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			junk(v.Field(i))
		}
	case reflect.Array:
		for i := range v.Len() {
			junk(v.Index(i))
		}
	case reflect.Bool:
		reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem().SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem().SetInt(7)
	case reflect.Uint8, reflect.Uint64, reflect.Uint32:
		reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem().SetUint(7)
	}
}

// unreset returns the path of a field of v that is not zero, skipping byte
// arrays (buffers whose lengths are kept elsewhere) and pointers.
func unreset(v reflect.Value, path string) string {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if p := unreset(v.Field(i), path+"."+v.Type().Field(i).Name); p != "" {
				return p
			}
		}
		return ""
	case reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 && v.Type().Elem().Name() == "uint8" {
			return ""
		}
	case reflect.Pointer:
		return ""
	}
	if !v.IsZero() {
		return path
	}
	return ""
}

// The resets that recycle scanners without clearing their buffers must
// clear every other field, including any added later.
func TestResetClearsEveryField(t *testing.T) {
	var js jsonScanner
	junk(reflect.ValueOf(&js).Elem())
	js.reset()
	if p := unreset(reflect.ValueOf(js), "jsonScanner"); p != "" {
		t.Errorf("jsonScanner.reset leaves %s set", p)
	}
	var s sseScanner
	junk(reflect.ValueOf(&s).Elem())
	s.reset(nil)
	if p := unreset(reflect.ValueOf(s), "sseScanner"); p != "" {
		t.Errorf("sseScanner.reset leaves %s set", p)
	}
	var tl tally
	junk(reflect.ValueOf(&tl).Elem())
	tl.clear()
	if p := unreset(reflect.ValueOf(tl), "tally"); p != "" {
		t.Errorf("tally.clear leaves %s set", p)
	}
}
