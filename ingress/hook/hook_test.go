package hook

import (
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
