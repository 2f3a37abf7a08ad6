package dora_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	doraact "github.com/hookflow/hookflow/activities/dora"
	"github.com/hookflow/hookflow/connectors/tokens"
)

func TestNotifyWithoutAURLSendsNothing(t *testing.T) {
	t.Parallel()
	out, err := (&doraact.Activities{Tokens: tokens.Static{}}).Notify(context.Background(), doraact.NotifyInput{BatchID: "b", Rejected: 1})
	require.NoError(t, err)
	require.False(t, out.Sent)
	// A webhook that fails: the error does not show the URL.
	_, err = (&doraact.Activities{Tokens: tokens.Static{doraact.NotifySystem: "http://127.0.0.1:1/hooks/SECRETPATH"}}).Notify(context.Background(), doraact.NotifyInput{BatchID: "b", Rejected: 1})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "SECRETPATH")
}

func TestWorkerWithoutIngressFailsClearly(t *testing.T) {
	t.Parallel()
	_, err := (&doraact.Activities{}).ApplyBatch(context.Background(), doraact.ApplyInput{BatchID: "b"})
	require.ErrorContains(t, err, "--payload-url")
}
