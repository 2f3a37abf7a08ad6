package hook

import (
	"net/http"
	"strings"
)

// HeaderValue is h.Get(key) as valid UTF-8 without NUL: HTTP lets a header
// value carry any byte from 0x80 to 0xFF, and such bytes (and a NUL from
// anything that builds a Request by hand) become U+FFFD. A Source reads
// through it every header it copies into an event (delivery ID, type,
// Meta): the journal keeps them in text columns, and PostgreSQL refuses
// invalid UTF-8 there, which would answer an authentic delivery 503 and
// have its sender retry it for ever. Headers only compared (signatures,
// tokens) are read as they are.
func HeaderValue(h http.Header, key string) string {
	v := h.Get(key)
	if strings.IndexByte(v, 0) >= 0 {
		v = strings.ReplaceAll(v, "\x00", "\uFFFD")
	}
	return strings.ToValidUTF8(v, "\uFFFD")
}
