package workflows

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestProject(t *testing.T) {
	t.Parallel()
	doc := []byte(`{"pull_request":{"number":7,"head":{"sha":"abc"},"labels":[{"name":"bug"},{"name":"ui"}]},"sender":{"login":"octocat"},"n":null}`)
	p, err := Project(doc, []string{"pull_request.head.sha", "pull_request.labels.1.name", "sender", "pull_request.number", "nope", "pull_request.labels.9", "pull_request.labels.x", "sender.login.deeper", "n"})
	require.NoError(t, err)
	require.Equal(t, "abc", p.String("pull_request.head.sha"))
	require.Equal(t, "ui", p.String("pull_request.labels.1.name"))
	require.JSONEq(t, `{"login":"octocat"}`, string(p.Values["sender"]))
	require.Equal(t, "7", string(p.Values["pull_request.number"]))
	require.Equal(t, "null", string(p.Values["n"]), "a JSON null is a value, not missing")
	require.Equal(t, []string{"nope", "pull_request.labels.9", "pull_request.labels.x", "sender.login.deeper"}, p.Missing)
	require.Equal(t, "", p.String("pull_request.number"), "String of a number is empty")

	_, err = Project(doc, []string{""})
	require.Error(t, err)
	_, err = Project([]byte(`{"a":`), []string{"a"})
	require.Error(t, err)
	big := []byte(`{"body":"` + strings.Repeat("x", MaxProjectionBytes) + `","tail":1}`)
	_, err = Project(big, []string{"body"})
	require.ErrorContains(t, err, "exceed")
	p, err = Project(big, []string{"tail"})
	require.NoError(t, err)
	require.Equal(t, "1", string(p.Values["tail"]))
}

func FuzzProject(f *testing.F) {
	f.Add([]byte(`{"a":{"b":[1,{"c":"d"}]}}`), "a.b.1.c")
	f.Add([]byte(`[1,2]`), "0")
	f.Fuzz(func(t *testing.T, doc []byte, path string) {
		p, err := Project(doc, []string{path})
		if err != nil {
			return
		}
		total := 0
		for _, v := range p.Values {
			total += len(v)
		}
		require.LessOrEqual(t, total, MaxProjectionBytes)
		require.Equal(t, 1, len(p.Values)+len(p.Missing))
	})
}
