package ingress_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/journal"
)

// TestAdminActionsAreAudited: every state-changing admin API call leaves
// one audit record (who, what, when) and none holds a secret; reads leave
// none; GET /admin/v1/audit lists them newest first.
func TestAdminActionsAreAudited(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	const token = "admin-token-123"
	const given = "a-given-secret-of-32-bytes-000000"
	code, body := f.adminCall(t, "POST", "/admin/v1/integrations", token, `{"name":"audited","source":"github","secret":"`+given+`"}`)
	require.Equal(t, http.StatusCreated, code, body)
	var in struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(body), &in))
	code, body = f.adminCall(t, "POST", "/admin/v1/integrations/"+in.ID+"/rotate", token, `{"overlap":"1h"}`)
	require.Equal(t, http.StatusOK, code, body)
	var rotated struct{ Secret string }
	require.NoError(t, json.Unmarshal([]byte(body), &rotated))
	code, body = f.adminCall(t, "POST", "/admin/v1/keys", token, `{"integration":"`+in.ID+`","name":"ci","expires":"90d"}`)
	require.Equal(t, http.StatusCreated, code, body)
	var key struct{ ID, Key string }
	require.NoError(t, json.Unmarshal([]byte(body), &key))
	code, body = f.adminCall(t, "DELETE", "/admin/v1/keys/"+key.ID, token, "")
	require.Equal(t, http.StatusOK, code, body)
	code, body = f.adminCall(t, "POST", "/admin/v1/deliveries/pause", token, `{"workflow":"pr/7"}`)
	require.Equal(t, http.StatusOK, code, body)
	code, body = f.adminCall(t, "POST", "/admin/v1/deliveries/resume", token, `{"workflow":"pr/7"}`)
	require.Equal(t, http.StatusOK, code, body)
	code, body = f.adminCall(t, "DELETE", "/admin/v1/integrations/"+in.ID, token, "")
	require.Equal(t, http.StatusOK, code, body)
	code, body = f.adminCall(t, "DELETE", "/admin/v1/integrations/"+in.ID, token, "")
	require.Equal(t, http.StatusNotFound, code, body)
	code, _ = f.adminCall(t, "GET", "/admin/v1/integrations", token, "")
	require.Equal(t, http.StatusOK, code)

	code, body = f.adminCall(t, "GET", "/admin/v1/audit", token, "")
	require.Equal(t, http.StatusOK, code, body)
	var log []journal.AuditRecord
	require.NoError(t, json.Unmarshal([]byte(body), &log))
	var actions []string
	for _, r := range log {
		actions = append(actions, r.Action)
		require.Equal(t, "admin-token", r.Actor)
		require.Equal(t, "api", r.Via)
		require.False(t, r.At.IsZero())
	}
	require.Equal(t, []string{"integration.delete", "resume.workflow", "pause.workflow", "key.revoke", "key.create", "integration.rotate", "integration.create"}, actions)
	for _, secret := range []string{given, rotated.Secret, key.Key, token} {
		require.NotContains(t, body, secret)
	}
	require.True(t, strings.Contains(body, in.ID))

	code, _ = f.adminCall(t, "GET", "/admin/v1/audit", "wrong-token", "")
	require.Equal(t, http.StatusUnauthorized, code)
}
