package hook_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/bitbucket"
	"github.com/hookflow/hookflow/ingress/generic"
	"github.com/hookflow/hookflow/ingress/github"
	"github.com/hookflow/hookflow/ingress/gitlab"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/jira"
	"github.com/hookflow/hookflow/ingress/servicenow"
)

func TestHeaderValue(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"push", "push"},
		{"żółw ✓", "żółw ✓"},
		{"push\xff", "push\uFFFD"},
		{"\xc3", "\uFFFD"},             // a truncated two-byte sequence
		{"a\xed\xa0\x80b", "a\uFFFDb"}, // an encoded surrogate
		{"a\x00b", "a\uFFFDb"},
	}
	for _, tt := range tests {
		h := http.Header{}
		h["X-Test"] = []string{tt.in}
		require.Equal(t, tt.want, hook.HeaderValue(h, "X-Test"), "%q", tt.in)
	}
}

// Invalid UTF-8 in any header a sender copies into its event must not
// reach the event: the journal stores those strings in text columns and
// PostgreSQL refuses the insert, so the delivery would get 503 for ever.
// (net/http accepts bytes 0x80-0xFF in header values.)
func TestSourcesKeepEventStringsValidUTF8(t *testing.T) {
	t.Parallel()
	const bad = "\xff\xfe"
	header := http.Header{}
	for _, h := range []string{
		"X-GitHub-Event", "X-GitHub-Delivery", "X-GitHub-Enterprise-Host", "X-GitHub-Enterprise-Version", "X-GitHub-Hook-ID",
		"X-GitHub-Hook-Installation-Target-Type", "X-GitHub-Hook-Installation-Target-ID",
		"X-Gitlab-Event", "X-Gitlab-Instance", "X-Gitlab-Event-UUID", "X-Gitlab-Webhook-UUID", "Idempotency-Key", "webhook-id",
		"X-Event-Key", "X-Request-UUID", "X-Request-Id", "X-Hook-UUID",
		"X-Atlassian-Webhook-Identifier", "X-ServiceNow-Delivery", "X-Type",
	} {
		header.Set(h, "v"+bad+"-"+strings.ToLower(h))
	}
	tests := []struct {
		source  hook.Source
		body    string
		options map[string]string
	}{
		{github.Source{}, `{"action":"opened"}`, nil},
		{gitlab.Source{}, `{"object_kind":"push"}`, nil},
		{bitbucket.Source{}, `{}`, nil},
		{jira.Source{}, `{"webhookEvent":"jira:issue_updated"}`, nil},
		{servicenow.Source{}, `{"table":"incident","sys_id":"abc"}`, nil},
		{generic.Source{}, `{}`, map[string]string{generic.OptionTypeHeader: "X-Type"}},
	}
	for _, tt := range tests {
		t.Run(tt.source.Name(), func(t *testing.T) {
			t.Parallel()
			ev, err := tt.source.Parse(&hook.Request{Header: header, Body: []byte(tt.body), ContentType: "application/json", Options: tt.options, Now: time.Now()})
			require.NoError(t, err)
			strs := map[string]string{"delivery ID": ev.DeliveryID, "type": ev.Type, "action": ev.Action}
			for k, v := range ev.Meta {
				strs["meta key "+k], strs["meta "+k] = k, v
			}
			for k, v := range ev.Keys {
				strs["key "+k], strs["key value "+k] = k, v
			}
			replaced := false
			for name, v := range strs {
				require.True(t, utf8.ValidString(v), "%s %q", name, v)
				replaced = replaced || strings.Contains(v, "\uFFFD")
			}
			require.True(t, replaced, "the source read a header into its event: %+v", strs)
		})
	}
}
