package gitlab_test

import (
	"net/http"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/gitlab"
)

// TestDeliveryIDIsParses keeps DeliveryID and Parse in step over every
// recorded delivery.
func TestDeliveryIDIsParses(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/*.http")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		req := load(t, filepath.Base(f))
		ev, err := gitlab.Source{}.Parse(req)
		require.NoError(t, err, f)
		if id := gitlab.DeliveryID(req.Header); id != "" {
			require.Equal(t, ev.DeliveryID, id, f)
		}
	}
	h := http.Header{}
	h.Set("X-Gitlab-Event-UUID", "ev")
	require.Equal(t, "ev", gitlab.DeliveryID(h))
	h.Set("Idempotency-Key", "idem")
	require.Equal(t, "idem", gitlab.DeliveryID(h))
	require.Empty(t, gitlab.DeliveryID(http.Header{}))
}
