package backstage

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/hookflow/hookflow/activities/activitytest"
	"github.com/hookflow/hookflow/activities/classify"
	bsconn "github.com/hookflow/hookflow/connectors/backstage"
	"github.com/hookflow/hookflow/connectors/tokens"
	"github.com/hookflow/hookflow/internal/backstagetest"
)

const secret = "bk-s3cr3t-5d1e"

const target = "https://github.com/acme/payments/blob/main/catalog-info.yaml"

var payments = backstagetest.Entity{Kind: "Component", Name: "payments"}

// store holds the Backstage token for every instance.
var store = tokens.Static{"backstage": secret}

func env(t *testing.T, fake *backstagetest.Server, store tokens.Store) *testsuite.TestActivityEnvironment {
	t.Helper()
	c, err := bsconn.New(bsconn.Options{BaseURL: fake.URL})
	require.NoError(t, err)
	e := activitytest.Env()
	Register(e, &Activities{Client: c, Tokens: store})
	return e
}

func TestRegisterLocation(t *testing.T) {
	t.Parallel()
	fake := backstagetest.New(t, secret)
	fake.Declare(target, payments)
	e := env(t, fake, store)

	v, err := e.ExecuteActivity(RegisterLocation, RegisterLocationInput{Installation: "acme", Target: target})
	require.NoError(t, err)
	var out RegisterLocationOutput
	require.NoError(t, v.Get(&out))
	require.Equal(t, RegisterLocationOutput{LocationID: fake.Locations()[target], EntityRefs: []string{"component:default/payments"}}, out)

	// A second registration (a retry whose first answer was lost) is a
	// success that says so; Backstage got each request once.
	v, err = e.ExecuteActivity(RegisterLocation, RegisterLocationInput{Installation: "acme", Target: target})
	require.NoError(t, err)
	require.NoError(t, v.Get(&out))
	require.Equal(t, RegisterLocationOutput{AlreadyRegistered: true}, out)

	got := fake.Received(http.MethodPost, "/api/catalog/locations")
	require.Len(t, got, 2)
	for _, r := range got {
		require.JSONEq(t, `{"type":"url","target":"`+target+`"}`, r.Body)
		require.Equal(t, "Bearer "+secret, r.Authorization, "the token comes from the store at call time")
	}
	require.Equal(t, []int{http.StatusCreated, http.StatusConflict}, []int{got[0].Status, got[1].Status})
	require.Len(t, fake.Locations(), 1)
}

func TestRefreshEntity(t *testing.T) {
	t.Parallel()
	fake := backstagetest.New(t, secret)
	fake.Declare(target, payments)
	fake.Register(target)
	e := env(t, fake, store)

	v, err := e.ExecuteActivity(RefreshEntity, RefreshEntityInput{Installation: "acme", EntityRef: "Component:payments"})
	require.NoError(t, err)
	var out RefreshEntityOutput
	require.NoError(t, v.Get(&out))
	require.Equal(t, RefreshEntityOutput{EntityRef: "component:default/payments"}, out)
	got := fake.Received(http.MethodPost, "/api/catalog/refresh")
	require.Len(t, got, 1, "Backstage received the refresh exactly once")
	require.JSONEq(t, `{"entityRef":"component:default/payments"}`, got[0].Body)
	require.Len(t, fake.Requests(), 1, "and nothing else")
}

func TestBackstageDownThenUp(t *testing.T) {
	t.Parallel()
	fake := backstagetest.New(t, secret)
	fake.Declare(target, payments)
	fake.FailNext(1, http.StatusServiceUnavailable, "")
	e := env(t, fake, store)
	in := RegisterLocationInput{Installation: "acme", Target: target}

	_, err := e.ExecuteActivity(RegisterLocation, in)
	activitytest.RequireAppError(t, err, classify.TypeUnavailable, false, secret)
	require.Empty(t, fake.Locations())

	// Temporal's retry is the next attempt.
	v, err := e.ExecuteActivity(RegisterLocation, in)
	require.NoError(t, err)
	var out RegisterLocationOutput
	require.NoError(t, v.Get(&out))
	require.False(t, out.AlreadyRegistered)
	require.Len(t, fake.Received(http.MethodPost, "/api/catalog/locations"), 2)
	require.Len(t, fake.Locations(), 1, "registered once")
}

func TestErrorsAreClassified(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		store        tokens.Store
		setup        func(*backstagetest.Server)
		activity     string
		input        any
		wantType     string
		nonRetryable bool
		delay        time.Duration
		wantMsg      string
		requests     int
	}{
		{
			name: "unknown entity", store: store, activity: RefreshEntity, input: RefreshEntityInput{Installation: "acme", EntityRef: "component:default/gone"},
			wantType: classify.TypeNotFound, nonRetryable: true, wantMsg: "NotFoundError", requests: 1,
		},
		{
			name: "rate limited", store: store, setup: func(s *backstagetest.Server) { s.FailNext(1, http.StatusTooManyRequests, "11") },
			activity: RefreshEntity, input: RefreshEntityInput{Installation: "acme", EntityRef: "component:default/payments"},
			wantType: classify.TypeRateLimited, delay: 11 * time.Second, requests: 1,
		},
		{
			name: "token refused", store: tokens.Static{"backstage": "bk-wr0ng-token"}, activity: RegisterLocation,
			input: RegisterLocationInput{Installation: "acme", Target: target}, wantType: classify.TypeAuth, nonRetryable: true, requests: 1,
		},
		{
			name: "no token", store: tokens.Static{}, activity: RegisterLocation, input: RegisterLocationInput{Installation: "acme", Target: target},
			wantType: classify.TypeAuth, nonRetryable: true, wantMsg: `backstage: no token for instance "acme"`,
		},
		{
			name: "target is not a URL", store: store, activity: RegisterLocation, input: RegisterLocationInput{Installation: "acme", Target: "catalog-info.yaml"},
			wantType: classify.TypeValidation, nonRetryable: true, wantMsg: "absolute http(s) URL",
		},
		{
			name: "reference without a kind", store: store, activity: RefreshEntity, input: RefreshEntityInput{Installation: "acme", EntityRef: "payments"},
			wantType: classify.TypeValidation, nonRetryable: true, wantMsg: "kind:namespace/name",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := backstagetest.New(t, secret)
			fake.Declare(target, payments)
			fake.Register(target)
			if tt.setup != nil {
				tt.setup(fake)
			}
			_, err := env(t, fake, tt.store).ExecuteActivity(tt.activity, tt.input)
			appErr := activitytest.RequireAppError(t, err, tt.wantType, tt.nonRetryable, secret, "bk-wr0ng-token")
			require.Contains(t, appErr.Error(), tt.wantMsg)
			var ae *temporal.ApplicationError
			require.True(t, errors.As(err, &ae))
			require.Equal(t, tt.delay, ae.NextRetryDelay())
			require.Len(t, fake.Requests(), tt.requests, "what reached Backstage")
		})
	}
}
