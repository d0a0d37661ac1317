package desk

import (
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// notUTF8 returns where in v a string is not valid UTF-8 ("" if none).
// Desk requests travel to their grains as JSON, and encoding would replace
// such bytes with U+FFFD silently: a Go caller's transfer note or close
// reason would be stored changed instead of refused. Byte slices are
// skipped: JSON carries them as base64.
func notUTF8(v reflect.Value, path string) string {
	switch v.Kind() {
	case reflect.String:
		if !utf8.ValidString(v.String()) {
			return path
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return notUTF8(v.Elem(), path)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if p := notUTF8(v.Field(i), path+"."+name); p != "" {
				return p
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return ""
		}
		for i := range v.Len() {
			if p := notUTF8(v.Index(i), path+"["+strconv.Itoa(i)+"]"); p != "" {
				return p
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if p := notUTF8(it.Key(), path+" key"); p != "" {
				return p
			}
			if p := notUTF8(it.Value(), path+"["+strconv.Quote(it.Key().String())+"]"); p != "" {
				return p
			}
		}
	}
	return ""
}
