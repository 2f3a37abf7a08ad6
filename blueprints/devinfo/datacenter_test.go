package devinfo_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/blueprints/blueprinttest"
	"github.com/hookflow/hookflow/blueprints/devinfo"
)

// Jira Data Center: a remote link per branch and pull request on each
// issue they name, one comment per issue listing the latest commits,
// edited in place (never a comment per push), a deleted branch's link
// removed, and an unknown key recorded and left alone.
func TestDataCenter(t *testing.T) {
	t.Parallel()
	f := fakeJira(t)
	s := devinfo.DefaultSettings()
	s.Mode, s.Commits = devinfo.ModeDataCenter, 2
	ds := []blueprinttest.Delivery{
		githubPush("gh-1", 1, "feature/PROJ-1-retry", false, "PROJ-2 first", "PROJ-2 second"),
		githubPR("gh-2", "opened", 2, "PROJ-1 Retry settlement", false),
		githubPush("gh-3", 3, "feature/PROJ-1-retry", false, "PROJ-2 third", "NOPE-4 unknown"),
		githubPR("gh-4", "closed", 4, "PROJ-1 Retry settlement", true),
		githubPush("gh-5", 5, "feature/PROJ-1-retry", true),
	}
	evs, route := routed(t, s, ds...)
	out := run(t, env(t, f), route, evs, time.Minute)
	require.Len(t, out.Outcomes, 1)
	o := out.Outcomes[0]
	require.Equal(t, devinfo.Outcome{Key: "NOPE-4", Step: "check", Result: "unknown key"}, devinfo.Outcome{Key: o.Key, Step: o.Step, Result: o.Result})
	require.Contains(t, o.Error, "Issue does not exist")

	p1 := f.Issue("PROJ-1")
	require.Len(t, p1.Links, 1, "the pull request's link; the deleted branch's is gone")
	link := string(p1.Links["hookflow-devinfo:pr:github.com/Codertocat/Hello-World/2"])
	require.Contains(t, link, `"resolved":true`)
	require.Empty(t, p1.Comments, "no commit names PROJ-1")

	p2 := f.Issue("PROJ-2")
	require.Len(t, p2.Comments, 1, "one comment, edited in place")
	require.Equal(t, 1, p2.Edits)
	body := p2.Comments[0].Body
	require.True(t, strings.HasPrefix(body, "Commits naming PROJ-2 in [Codertocat/Hello-World|https://github.com/Codertocat/Hello-World] (latest 2 of 3"), body)
	require.Contains(t, body, "PROJ-2 third")
	require.NotContains(t, body, "PROJ-2 first", "only the latest commits")
	require.Empty(t, f.Issue("NOPE-4").Key)

	writes := f.Writes()
	require.Equal(t, []string{
		"POST /rest/api/2/issue/PROJ-1/remotelink", // push 1: the branch
		"POST /rest/api/2/issue/PROJ-2/comment",    // and its commits
		"POST /rest/api/2/issue/PROJ-1/remotelink", // pull request opened
		"POST /rest/api/2/issue/PROJ-1/remotelink", // push 3: the branch's new head
		"PUT /rest/api/2/issue/PROJ-2/comment/10002",
		"POST /rest/api/2/issue/PROJ-1/remotelink",   // merged: resolved
		"DELETE /rest/api/2/issue/PROJ-1/remotelink", // branch deleted
	}, writes)
}
