package dora

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/workflows/dorabatch"
)

func TestAPIKeyHeaders(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		h    http.Header
		want string
	}{
		{http.Header{"X-Api-Key": {" k1 "}}, "k1"},
		{http.Header{"Authorization": {"Bearer k2"}}, "k2"},
		{http.Header{"Authorization": {"bearer  k3 "}}, "k3"},
		{http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}, ""},
		{http.Header{"Authorization": {"Bearer"}}, ""},
		{http.Header{}, ""},
		{http.Header{"X-Api-Key": {"k4"}, "Authorization": {"Bearer k5"}}, "k4"},
	} {
		require.Equal(t, c.want, APIKey(c.h), "%v", c.h)
	}
}

func TestVerifyWithoutAKeyStoreUsesTheSecrets(t *testing.T) {
	t.Parallel()
	req := &hook.Request{Header: http.Header{"X-Api-Key": {"s3cret"}}, Secrets: [][]byte{[]byte("s3cret")}, Body: []byte(`{"incidents": []}`)}
	require.NoError(t, Source{}.Verify(req))
	req.Header.Set("X-Api-Key", "wrong")
	err := Source{}.Verify(req)
	var he *hook.Error
	require.ErrorAs(t, err, &he)
	require.Equal(t, 401, he.Status)
	require.NotContains(t, he.Message+he.Hint, "s3cret")
}

func FuzzSource(f *testing.F) {
	f.Add([]byte(`{"deployments": [{"deployment_id": "x"}], "incidents": [1]}`), "deployments")
	f.Add([]byte(`not json`), "incidents")
	f.Add([]byte(`{"workflow_runs": [{}]}`), "")
	src := Source{CheckKey: func(req *hook.Request, key string) ([]string, bool) {
		return []string{req.Header.Get("X-Scope")}, key == "k"
	}}
	f.Fuzz(func(t *testing.T, body []byte, scope string) {
		req := &hook.Request{Header: http.Header{"X-Api-Key": {"k"}, "X-Scope": {scope}}, Body: body}
		if err := src.Verify(req); err != nil {
			var he *hook.Error
			if !(errorAs(err, &he) && he.Status == 403) {
				t.Fatalf("a valid key is refused only for its scope: %v", err)
			}
			return
		}
		ev, err := src.Parse(req)
		if err != nil {
			t.Fatalf("Parse never refuses: %v", err)
		}
		if !json.Valid(ev.Payload) {
			t.Fatalf("the payload is not JSON: %q", ev.Payload)
		}
		code, a := src.Answer(req, ev, "accepted")
		if code != 200 {
			t.Fatalf("answer %d", code)
		}
		ans := a.(dorabatch.Answer)
		if ans.BatchID != ev.DeliveryID || (ans.Accepted == 0) != (ev.Type == TypeRejected) {
			t.Fatalf("the answer disagrees with the event: %+v %+v", ans, ev)
		}
	})
}

func errorAs(err error, he **hook.Error) bool {
	e, ok := err.(*hook.Error)
	*he = e
	return ok
}
