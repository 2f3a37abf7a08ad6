package prcomment_test

import (
	"bytes"
	"encoding/json"
	actall "github.com/hookflow/hookflow/activities/all"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/blueprints/blueprinttest"
	"github.com/hookflow/hookflow/blueprints/prcomment"
	"github.com/hookflow/hookflow/ingress/hook"
)

func delivery(file string) blueprinttest.Delivery {
	return blueprinttest.Delivery{File: "testdata/" + file, Source: "github", Secret: blueprinttest.GitHubSecret}
}

// The recorded deliveries, parsed by the GitHub source and routed as the
// ingress routes them, comment once on the real API shape and complete the
// workflow on close.
func TestRecordedPullRequestIsWelcomedOnce(t *testing.T) {
	t.Parallel()
	opened, route := blueprinttest.Deliver(t, prcomment.Blueprint, delivery("pull_request.opened.http"))
	require.Equal(t, "prcomment/github.com/Codertocat/Hello-World/pr/2", route.WorkflowID)
	closedDelivery := delivery("pull_request.closed.http")
	closedDelivery.Mutate = func(r *hook.Request) { // the same pull request as opened
		r.Body = bytes.ReplaceAll(r.Body, []byte("Octocoders"), []byte("Codertocat"))
		blueprinttest.SignGitHub(r, blueprinttest.GitHubSecret)
	}
	closed, closedRoute := blueprinttest.Deliver(t, prcomment.Blueprint, closedDelivery)

	gh := blueprinttest.NewFake(t)
	comments := "/repos/Codertocat/Hello-World/issues/2/comments"
	gh.Handle("GET "+comments, blueprinttest.Response{Body: `[]`})
	gh.Handle("POST "+comments,
		blueprinttest.Response{Status: http.StatusBadGateway, Body: `{"message":"Server Error"}`}, // down, then up
		blueprinttest.Response{Status: http.StatusCreated, Body: `{"id":1,"html_url":"https://github.com/Codertocat/Hello-World/pull/2#issuecomment-1"}`})
	env := blueprinttest.NewEnv(t, prcomment.Blueprint)
	require.NoError(t, actall.Register(env, actall.Sites{GitHubAPIURL: gh.URL + "/", Tokens: actall.StaticTokens(map[string]string{"github": "ghp_test"})}))
	env.Send(time.Second, route, opened)
	env.Send(2*time.Second, route, opened) // a redelivery
	env.Send(time.Hour, closedRoute, closed)
	env.Run()

	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var out prcomment.Output
	require.NoError(t, env.GetWorkflowResult(&out))
	require.Equal(t, prcomment.Output{Applied: 2, Dropped: 1, Comments: 1}, out)
	posts := gh.Calls("POST", comments)
	require.Len(t, posts, 2, "one failed attempt, one retry")
	var body struct{ Body string }
	require.NoError(t, json.Unmarshal(posts[1].Body, &body))
	require.Contains(t, body.Body, prcomment.DefaultGreeting)
	require.Contains(t, body.Body, route.WorkflowID)
	require.Equal(t, "Bearer ghp_test", posts[1].Header.Get("Authorization"))
}

// A push is not prcomment's.
func TestPushIsNotTaken(t *testing.T) {
	t.Parallel()
	ev := blueprinttest.Event(t, delivery("push.http"))
	require.Empty(t, blueprinttest.Routes(prcomment.Blueprint, nil, ev))
}

func TestKitReplaysRecordedHistories(t *testing.T) {
	t.Parallel()
	blueprinttest.Replay(t, prcomment.Blueprint, "testdata/histories")
}
