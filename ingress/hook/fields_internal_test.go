package hook

import (
	"encoding/binary"
	"testing"
)

// TestWordSpecialNeverMissesOne: a word with a quote, a backslash or a
// control character at any position, among any filler, is always flagged
// (a word flagged without one only costs str a byte-by-byte pass); a word
// of plain bytes alone is not flagged for the fillers tried.
func TestWordSpecialNeverMissesOne(t *testing.T) {
	fillers := []byte{' ', '!', '#', 'a', '[', ']', '~', 0x7f, 0x80, 0xc3, 0xff}
	for _, fill := range fillers {
		var w [8]byte
		for i := range w {
			w[i] = fill
		}
		if wordSpecial(binary.LittleEndian.Uint64(w[:])) {
			t.Errorf("a word of %#x is flagged", fill)
		}
		for pos := range 8 {
			for c := range 256 {
				w[pos] = byte(c)
				if !strPlain[c] && !wordSpecial(binary.LittleEndian.Uint64(w[:])) {
					t.Fatalf("%#x at %d among %#x not flagged", c, pos, fill)
				}
			}
			w[pos] = fill
		}
	}
}
