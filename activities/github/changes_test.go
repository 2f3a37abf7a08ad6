package github

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReferences(t *testing.T) {
	t.Parallel()
	prs, keys := References("Merge pull request #42 from octo-org/PAY-118-fix\n\nPAY-118: retry the gateway (#41)\nSee #42, OPS-7 and iso-8601, UTF-8")
	require.Equal(t, []int{42, 41}, prs)
	require.Equal(t, []string{"PAY-118", "OPS-7", "UTF-8"}, keys)
}
