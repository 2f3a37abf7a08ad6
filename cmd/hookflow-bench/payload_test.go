package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/stretchr/testify/require"
)

// TestPayloadShapes: both 22 KB bodies of the Probot comparison are
// exactly the size asked for, valid JSON, routed by the GitHub source to
// the pull request they name, and differ in what fills them: the full
// delivery is mostly its objects (and compresses several times better),
// the other mostly its description.
func TestPayloadShapes(t *testing.T) {
	ratio := map[string]float64{}
	for _, shape := range payloadShapes {
		d, err := signedOfSize("bench", "probot", 7, probotBodySize, shape, []byte("s3cret-bench-0123456789"))
		require.NoError(t, err, shape.name)
		require.Len(t, d.body, probotBodySize, shape.name)
		var m struct {
			Number      int `json:"number"`
			PullRequest struct {
				Body string `json:"body"`
				Head struct {
					Repo struct {
						FullName string `json:"full_name"`
					} `json:"repo"`
				} `json:"head"`
			} `json:"pull_request"`
			Repository struct {
				FullName string `json:"full_name"`
			} `json:"repository"`
		}
		require.NoError(t, json.Unmarshal(d.body, &m), shape.name)
		require.Equal(t, 7, m.Number)
		require.Equal(t, "bench/probot", m.Repository.FullName)
		require.Equal(t, "bench/probot", m.PullRequest.Head.Repo.FullName)
		require.Equal(t, sign(d.body, []byte("s3cret-bench-0123456789")), d.sig)

		ev, err := parseDelivery(context.Background(), d)
		require.NoError(t, err, shape.name)
		require.Equal(t, "prcomment/github.com/bench/probot/pr/7", workflowID(ev), shape.name)

		desc := float64(len(m.PullRequest.Body)) / probotBodySize
		if shape == shapeFull {
			require.Less(t, desc, 0.1, "a full delivery is mostly its objects")
		} else {
			require.Greater(t, desc, 0.9, "the prose body is mostly its description")
		}
		ratio[shape.name] = float64(len(d.body)) / float64(len(s2.Encode(nil, d.body)))
	}
	require.Greater(t, ratio[shapeFull.name], 2*ratio[shapeProse.name], "compression ratios: %v", ratio)

	_, err := fullPRBodyOfSize("bench", "probot", 1, 8<<10)
	require.ErrorContains(t, err, "without a description, over 8192")
}
