package github

import (
	"net/http"
	"strings"
	"testing"

	gh "github.com/google/go-github/v62/github"
	"github.com/stretchr/testify/require"
)

// TestHeaderNamesCanonical: the header names read are in canonical form
// (so that lookups do not allocate) and the same headers as go-github's
// and GitHub's documented names; Meta keys are their lower-case forms.
func TestHeaderNamesCanonical(t *testing.T) {
	for _, h := range []string{headerSig256, headerSig1, headerDelivery, headerEvent, headerGHESHost, headerGHESVer, headerHookID, headerTargetTyp, headerTargetID} {
		require.Equal(t, http.CanonicalHeaderKey(h), h)
	}
	require.Equal(t, http.CanonicalHeaderKey(gh.DeliveryIDHeader), headerDelivery)
	require.Equal(t, http.CanonicalHeaderKey(gh.EventTypeHeader), headerEvent)
	require.Equal(t, http.CanonicalHeaderKey("X-GitHub-Hook-Installation-Target-ID"), headerTargetID)
	for _, m := range metaHeaders {
		require.Equal(t, strings.ToLower(m.header), m.name)
	}
}
