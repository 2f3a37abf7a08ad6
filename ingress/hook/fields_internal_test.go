package hook

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// firstSpecial is the index of the first byte of w a string may not hold
// as it is (8 if none), byte by byte.
func firstSpecial(w [8]byte) int {
	for i, c := range w {
		if !strPlain[c] {
			return i
		}
	}
	return 8
}

// markedFirst is where wordSpecial's lowest mark points (8 if none).
func markedFirst(w [8]byte) int {
	m := wordSpecial(binary.LittleEndian.Uint64(w[:]))
	if m == 0 {
		return 8
	}
	return bits.TrailingZeros64(m) >> 3
}

// TestWordSpecialMarksTheFirstOne: a quote, a backslash or a control
// character at any position, among any filler and before anything else,
// is where the lowest mark points, and a word of plain bytes has no mark.
func TestWordSpecialMarksTheFirstOne(t *testing.T) {
	fillers := []byte{' ', '!', '#', 'a', '[', ']', '~', 0x7f, 0x80, 0xc3, 0xff}
	for _, fill := range fillers {
		var w [8]byte
		for i := range w {
			w[i] = fill
		}
		if got := markedFirst(w); got != 8 {
			t.Errorf("a word of %#x is marked at %d", fill, got)
		}
		for pos := range 8 {
			for c := range 256 {
				w[pos] = byte(c)
				for _, after := range []byte{fill, '"', '\\', 0, 0x1f} {
					for k := pos + 1; k < 8; k++ {
						w[k] = after
					}
					if got, want := markedFirst(w), firstSpecial(w); got != want {
						t.Fatalf("%x: marked at %d, first special byte at %d", w, got, want)
					}
				}
				for k := pos; k < 8; k++ {
					w[k] = fill
				}
			}
		}
	}
}

// TestWordSpecialOnRandomWords: the same over random words, with the
// special bytes drawn often.
func TestWordSpecialOnRandomWords(t *testing.T) {
	r := rand.New(rand.NewPCG(18, 3))
	pick := []byte{'"', '\\', 0, 0x1f, 0x20, 0x21, 0x5b, 0x5d, 0x7f, 0x80, 0xff}
	for range 1_000_000 {
		var w [8]byte
		for i := range w {
			if r.IntN(4) == 0 {
				w[i] = pick[r.IntN(len(pick))]
			} else {
				w[i] = byte(r.IntN(256))
			}
		}
		if got, want := markedFirst(w), firstSpecial(w); got != want {
			t.Fatalf("%x: marked at %d, first special byte at %d", w, got, want)
		}
	}
}
