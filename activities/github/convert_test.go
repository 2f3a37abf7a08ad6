package github

import (
	"testing"

	"github.com/hookflow/hookflow/activities/activitytest"
)

func TestStatusConversionCarriesEveryField(t *testing.T) {
	t.Parallel()
	var s Status
	activitytest.Fill(t, &s)
	activitytest.RequireNoZeroField(t, s.connector())
}
