package hook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func hexMAC(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func TestValidHMACSHA256(t *testing.T) {
	t.Parallel()
	// GitHub's published test vector.
	require.True(t, ValidHMACSHA256([]byte("Hello, World!"), "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", [][]byte{[]byte("It's a Secret to Everybody")}))
	body := []byte(`{"a":1}`)
	sig := hexMAC([]byte("new"), body)
	require.True(t, ValidHMACSHA256(body, sig, [][]byte{[]byte("new"), []byte("old")}))
	require.True(t, ValidHMACSHA256(body, hexMAC([]byte("old"), body), [][]byte{[]byte("new"), []byte("old")}), "rotation: both verify")
	require.False(t, ValidHMACSHA256(body, sig, [][]byte{[]byte("other")}))
	require.False(t, ValidHMACSHA256(body, sig, nil))
	require.False(t, ValidHMACSHA256(body, sig[:10], [][]byte{[]byte("new")}))
	require.False(t, ValidHMACSHA256(body, "zz"+sig[2:], [][]byte{[]byte("new")}))
	require.False(t, ValidHMACSHA256(body, hexMAC(nil, body), [][]byte{{}}), "an empty secret never verifies")
}

func TestEqualSecret(t *testing.T) {
	t.Parallel()
	require.True(t, EqualSecret("k2", [][]byte{[]byte("k1"), []byte("k2")}))
	require.False(t, EqualSecret("k3", [][]byte{[]byte("k1"), []byte("k2")}))
	require.False(t, EqualSecret("", [][]byte{{}}))
	require.False(t, EqualSecret("k", nil))
}

func FuzzValidHMACSHA256(f *testing.F) {
	f.Add([]byte("body"), "sig", []byte("key"))
	f.Fuzz(func(t *testing.T, body []byte, sig string, key []byte) {
		if ValidHMACSHA256(body, sig, [][]byte{key}) {
			require.NotEmpty(t, key)
			require.True(t, strings.EqualFold(hexMAC(key, body), sig))
		}
		require.Equal(t, len(key) > 0, ValidHMACSHA256(body, hexMAC(key, body), [][]byte{key}))
	})
}

// decodeSHA256Hex agrees with hex.DecodeString on every string of a
// digest's length and shape: either case, a bad byte at each position,
// one byte short or long.
func TestDecodeSHA256HexAgreesWithEncodingHex(t *testing.T) {
	sum := sha256.Sum256([]byte("x"))
	lower := hex.EncodeToString(sum[:])
	cases := []string{lower, strings.ToUpper(lower), lower[:63], lower + "0", "", "0x" + lower[2:], strings.Repeat("g", 64)}
	for i := range lower {
		for _, c := range []byte{'g', 'G', ' ', 0, 0xff, '/', ':', '@', '`'} {
			b := []byte(lower)
			b[i] = c
			cases = append(cases, string(b))
		}
	}
	for _, s := range cases {
		got, ok := decodeSHA256Hex(s)
		want, err := hex.DecodeString(s)
		wantOK := err == nil && len(want) == sha256.Size
		if ok != wantOK || (ok && !bytes.Equal(got[:], want)) {
			t.Fatalf("%q: got %x %v, encoding/hex %x %v", s, got, ok, want, err)
		}
	}
}
