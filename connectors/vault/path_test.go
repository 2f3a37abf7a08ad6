package vault

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/connectors/tokens"
	"github.com/hookflow/hookflow/connectors/tokens/tokenstest"
)

func TestEscapeSegment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"12345", "12345"},
		{"", "_"},
		{"_", "%5F"},
		{"_default", "%5Fdefault"},
		{"a_b", "a_b"},
		{"org/repo", "org%2Frepo"},
		{".", "%2E"},
		{"..", "%2E%2E"},
		{"../x", "..%2Fx"},
		{"acme.atlassian.net", "acme.atlassian.net"},
		{"%2F", "%252F"},
		{"a b", "a%20b"},
		{"ü", "%C3%BC"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got := escapeSegment(tt.in)
			require.Equal(t, tt.want, got)
			back, ok := unescapeSegment(got)
			require.True(t, ok)
			require.Equal(t, tt.in, back)
		})
	}
}

func TestEscapeSegmentRoundTripsOddKeys(t *testing.T) {
	t.Parallel()
	seen := map[string]tokens.Key{}
	tmpl, err := parseTemplate(DefaultPathTemplate)
	require.NoError(t, err)
	for _, k := range tokenstest.OddKeys {
		p := tmpl.path(k)
		require.NotContains(t, seen, p, "two keys share a path")
		seen[p] = k
		for _, f := range []string{k.System, k.Installation} {
			back, ok := unescapeSegment(escapeSegment(f))
			require.True(t, ok)
			require.Equal(t, f, back)
		}
	}
}

func TestUnescapeSegmentRejectsForeignNames(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"%zz", "%2f", "a b", "_x", ".."} {
		_, ok := unescapeSegment(name)
		require.False(t, ok, name)
	}
}

func TestParseTemplate(t *testing.T) {
	t.Parallel()
	k := tokens.Key{System: "github", Installation: "org/1"}
	tests := []struct {
		tmpl    string
		want    string
		wantErr bool
	}{
		{tmpl: DefaultPathTemplate, want: "hookflow/github/org%2F1"},
		{tmpl: "/teams/a/{installation}/{system}/", want: "teams/a/org%2F1/github"},
		{tmpl: "{system}/{installation}/token", want: "github/org%2F1/token"},
		{tmpl: "", wantErr: true},
		{tmpl: "hookflow/{system}", wantErr: true},
		{tmpl: "hookflow/{system}-{installation}", wantErr: true},
		{tmpl: "hookflow/{system}/{system}/{installation}", wantErr: true},
		{tmpl: "hookflow//{system}/{installation}", wantErr: true},
		{tmpl: "../{system}/{installation}", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			t.Parallel()
			tm, err := parseTemplate(tt.tmpl)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, tm.path(k))
		})
	}
}

func TestVaultErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"permission denied"}, "permission denied"},
		{[]string{"2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n"}, "permission denied; invalid token"},
		{[]string{"1 error occurred:\n\t* x\n", "y"}, "x; y"},
		{nil, "no detail"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, vaultErrors(tt.in))
		})
	}
}
