package splunk

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/activities/activitytest"
	splunkconn "github.com/hookflow/hookflow/connectors/splunk"
)

func TestEventConversionCarriesEveryField(t *testing.T) {
	t.Parallel()
	var e Event
	activitytest.Fill(t, &e)
	got := connectorEvents([]Event{e})
	require.Len(t, got, 1)
	activitytest.RequireNoZeroField(t, got[0])
}

// Histories recorded before the activity owned its Event hold the
// connector's JSON: the activity's type must read and write the same.
func TestEventKeepsTheConnectorsJSON(t *testing.T) {
	t.Parallel()
	var e Event
	activitytest.Fill(t, &e)
	mine, err := json.Marshal(e)
	require.NoError(t, err)
	theirs, err := json.Marshal(connectorEvents([]Event{e})[0])
	require.NoError(t, err)
	require.JSONEq(t, string(theirs), string(mine))
	var back splunkconn.Event
	require.NoError(t, json.Unmarshal(mine, &back))
	require.Equal(t, connectorEvents([]Event{e})[0], back)
}
