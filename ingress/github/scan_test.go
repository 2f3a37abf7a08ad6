package github

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/hook/hooktest"
)

// fixtureSecret signs the testdata deliveries.
const fixtureSecret = "It's a Secret to Everybody"

// unmarshalPayload is how Parse read the payload before scanPayload: a
// typed json.Unmarshal, type errors tolerated. It is the oracle the scan
// must agree with.
func unmarshalPayload(body []byte) (payload, bool) {
	var p payload
	var typeErr *json.UnmarshalTypeError
	if err := json.Unmarshal(body, &p); (err != nil && !errors.As(err, &typeErr)) || !isObject(body) {
		return payload{}, false
	}
	return p, true
}

func requireSameAsUnmarshal(t *testing.T, body []byte) {
	t.Helper()
	want, wantOK := unmarshalPayload(body)
	got, ok := scanPayload(body)
	require.Equal(t, wantOK, ok, "valid object? %q", body)
	require.Equal(t, want, got, "%q", body)
}

// scanCases are bodies where a one-pass scan could part from
// json.Unmarshal.
var scanCases = []string{
	`{}`, `[]`, `null`, `"x"`, `1`, ``, ` `, `{`, `{"action":"opened"`, `{"action":"opened"} x`, `{"action":"opened"}{}`,
	`{"action":"opened","number":5}`,
	`{"action":5,"number":"5"}`,
	`{"number":1.0}`, `{"number":1e2}`, `{"number":-0}`, `{"number":9223372036854775807}`, `{"number":9223372036854775808}`,
	`{"number":1e400}`, `{"number":01}`, `{"number":-}`, `{"number":1.}`, `{"number":.5}`, `{"number":1e}`, `{"number":1E+5}`,
	`{"pull_request":{"number":1e400}}`,
	`{"action":"a","action":"b"}`, `{"action":"a","action":5}`, `{"action":"a","action":null}`,
	`{"ACTION":"upper"}`, `{"Action":"title","action":"exact"}`, `{"action":"exact","Action":"title"}`,
	`{"act\u0069on":"escaped key"}`, `{"\u0041ction":"escaped capital"}`,
	"{\"repository\":{\"full_name\":\"o/r\",\"owner\":{\"login\":\"o\"}},\"organization\":{\"login\":\"\u017fo\"}}",
	`{"repo\u017fitory":{"name":"long s folds onto s"}}`, `{"relea\u017fe":{"tag_name":"v1"}}`,
	"{\"relea\xc5\xbfe\":{\"tag_name\":\"v1 raw long s\"}}",
	"{\"\xff\":1,\"action\":\"\xffinvalid utf-8\"}",
	`{"action":"esc\"aped\\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00 \ud800"}`,
	`{"action":"bad escape \x"}`, `{"action":"bad \u12"}`, "{\"action\":\"control \x01\"}",
	`{"repository":{"name":"a"},"repository":{"full_name":"b"}}`,
	`{"repository":{"name":"a"},"repository":null}`,
	`{"repository":{"name":"a"},"repository":null,"repository":{"full_name":"b"}}`,
	`{"repository":{"name":"a"},"repository":"x"}`, `{"repository":[1,2]}`, `{"repository":5}`, `{"repository":true}`,
	`{"repository":{"owner":null}}`, `{"repository":{"owner":{"login":"l"},"owner":{"name":"n"}}}`,
	`{"pull_request":{"number":7,"head":{"sha":"abc"}},"number":8}`, `{"pull_request":null}`,
	`{"issue":{"number":3,"pull_request":null}}`, `{"issue":{"number":3,"pull_request":{"url":"u"}}}`,
	`{"issue":{"number":3,"pull_request":[1]}}`, `{"issue":{"number":3,"pull_request":"s"}}`, `{"issue":{"pull_request":1,"pull_request":null}}`,
	`{"deployment":{"id":1,"sha":"s","environment":"prod"},"release":{"tag_name":"v"},"workflow_run":{"id":2,"head_sha":"h"}}`,
	`{"check_run":{"head_sha":"c"},"check_suite":{"head_sha":"d"},"installation":{"id":-4}}`,
	`{"a":[{"action":"nested in an array does not count"}],"b":{"action":"nor in another object"}}`,
	`{"a":[1,2,[3,{"b":null}],true,false,null,"s",-1.5e-3]}`, `{"a":[1,]}`, `{"a":[,1]}`, `{"a":{"b":1,}}`, `{"a" 1}`, `{1:2}`,
	`{"a":tru}`, `{"a":nul}`, `{"a":falsey}`, "\t\r\n {\"action\" : \"spaces\" } \n",
	strings.Repeat(`{"a":`, 9999) + `1` + strings.Repeat(`}`, 9999),
	strings.Repeat(`[`, 10001) + strings.Repeat(`]`, 10001),
	`{"a":` + strings.Repeat(`[`, 10000) + strings.Repeat(`]`, 10000) + `}`,
}

func TestScanMatchesUnmarshal(t *testing.T) {
	t.Parallel()
	for _, c := range scanCases {
		requireSameAsUnmarshal(t, []byte(c))
	}
	files, err := filepath.Glob("testdata/*.http")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		req := hooktest.Load(t, filepath.Base(f), fixtureSecret)
		requireSameAsUnmarshal(t, req.Body)
	}
	bench, err := os.ReadFile("../../cmd/hookflow-bench/pull_request.synchronize.json")
	require.NoError(t, err)
	requireSameAsUnmarshal(t, bench)
}

func FuzzScanMatchesUnmarshal(f *testing.F) {
	for _, c := range scanCases {
		f.Add([]byte(c))
	}
	for _, name := range []string{"pull_request.opened.http", "issue_comment.pr.http", "push.http", "ping.http"} {
		f.Add(hooktest.Load(f, name, fixtureSecret).Body)
	}
	f.Fuzz(func(t *testing.T, body []byte) { requireSameAsUnmarshal(t, body) })
}

func BenchmarkParsePayload(b *testing.B) {
	body, err := os.ReadFile("../../cmd/hookflow-bench/pull_request.synchronize.json")
	require.NoError(b, err)
	for len(body) < 22<<10 {
		// Pad the body as the benchmarks do, to the 22 KB of the Probot
		// comparison.
		var m map[string]any
		require.NoError(b, json.Unmarshal(body, &m))
		pr := m["pull_request"].(map[string]any)
		pr["body"] = strings.Repeat("lorem ipsum ", (22<<10)/12)
		body, _ = json.Marshal(m)
	}
	b.Run("unmarshal", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			unmarshalPayload(body)
		}
	})
	b.Run("scan", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			scanPayload(body)
		}
	})
}
