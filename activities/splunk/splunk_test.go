package splunk

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/hookflow/hookflow/activities/activitytest"
	"github.com/hookflow/hookflow/activities/classify"
	"github.com/hookflow/hookflow/connectors/replaytest"
	splunkconn "github.com/hookflow/hookflow/connectors/splunk"
	"github.com/hookflow/hookflow/connectors/tokens"
)

const secret = "s3cr3t-9b2f-4c1e-8a7d-hec-token"

var fixtures = filepath.Join("..", "..", "connectors", "splunk", "testdata")

type hec struct {
	mu      sync.Mutex
	bodies  []string
	channel string
}

// server answers each path with its fixtures in turn, the last repeating.
func server(t *testing.T, routes map[string][]string) (string, *hec) {
	t.Helper()
	h := &hec{}
	calls := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		if r.URL.Path == "/services/collector/event" {
			h.bodies = append(h.bodies, string(body))
		}
		h.channel = r.Header.Get("X-Splunk-Request-Channel")
		n := calls[r.URL.Path]
		calls[r.URL.Path]++
		h.mu.Unlock()
		files, ok := routes[r.URL.Path]
		if !ok {
			files, ok = routes["*"]
		}
		if !ok {
			http.Error(w, "no route", http.StatusTeapot)
			return
		}
		if n >= len(files) {
			n = len(files) - 1
		}
		replaytest.WriteResponse(t, w, filepath.Join(fixtures, files[n]))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, h
}

func env(t *testing.T, baseURL string, store tokens.Store) *testsuite.TestActivityEnvironment {
	t.Helper()
	c, err := splunkconn.New(splunkconn.Options{BaseURL: baseURL, MaxBatchEvents: 1, AckPollInterval: 5 * time.Millisecond, AckTimeout: 60 * time.Millisecond})
	require.NoError(t, err)
	e := activitytest.Env()
	Register(e, &Activities{Client: c, Tokens: store})
	return e
}

var store = tokens.Static{"splunk": secret}

func twoEvents() []Event {
	return []Event{{Event: json.RawMessage(`{"n":0}`)}, {Event: json.RawMessage(`{"n":1}`)}}
}

func TestSendEvents(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		routes     map[string][]string
		input      SendEventsInput
		resumeFrom *Progress
		want       SendEventsOutput
		wantSent   []string
	}{
		{"no ack", map[string][]string{"/services/collector/event": {"event_200.http"}},
			SendEventsInput{Events: twoEvents()}, nil,
			SendEventsOutput{Batches: 2}, []string{`{"event":{"n":0}}`, `{"event":{"n":1}}`}},
		{"ack over two polls", map[string][]string{
			"/services/collector/event": {"event_ack0_200.http", "event_ack1_200.http"},
			"/services/collector/ack":   {"ack_partial_200.http", "ack_all_200.http"}},
			SendEventsInput{Events: twoEvents(), Ack: true}, nil,
			SendEventsOutput{Batches: 2, Acknowledged: true}, []string{`{"event":{"n":0}}`, `{"event":{"n":1}}`}},
		{"resumes after the batches an earlier attempt sent", map[string][]string{
			"/services/collector/event": {"event_ack1_200.http"},
			"/services/collector/ack":   {"ack_all_200.http"}},
			SendEventsInput{Events: twoEvents(), Ack: true}, &Progress{Todo: []int{1}, Acks: map[int]int64{0: 0}},
			SendEventsOutput{Batches: 2, Acknowledged: true}, []string{`{"event":{"n":1}}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url, h := server(t, tt.routes)
			e := env(t, url, store)
			if tt.resumeFrom != nil {
				e.SetHeartbeatDetails(*tt.resumeFrom)
			}
			var beats int
			e.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) { beats++ })
			v, err := e.ExecuteActivity(SendEvents, tt.input)
			require.NoError(t, err)
			var out SendEventsOutput
			require.NoError(t, v.Get(&out))
			require.Equal(t, tt.want, out)
			require.Equal(t, tt.wantSent, h.bodies)
			require.Positive(t, beats)
			if tt.input.Ack {
				require.Regexp(t, regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`), h.channel)
			}
		})
	}
}

func TestNotAcknowledged(t *testing.T) {
	t.Parallel()
	url, _ := server(t, map[string][]string{
		"/services/collector/event": {"event_ack0_200.http", "event_ack1_200.http"},
		"/services/collector/ack":   {"ack_partial_200.http"},
	})
	e := env(t, url, store)
	_, err := e.ExecuteActivity(SendEvents, SendEventsInput{Events: twoEvents(), Ack: true})
	activitytest.RequireAppError(t, err, TypeNotAcknowledged, false, secret)
	require.Contains(t, err.Error(), "1 batch(es) not acknowledged")
}

// TestProgress checks the heartbeat bookkeeping a retry resumes from (the
// test environment throttles heartbeats, so the last one is not observable
// there).
func TestProgress(t *testing.T) {
	t.Parallel()
	p := Progress{Todo: []int{}, Acks: map[int]int64{0: 10, 1: 11, 2: 12}}
	p.acked([]int64{11, 12})
	require.Equal(t, map[int]int64{1: 11, 2: 12}, p.Acks)
	p.requeue([]int64{12, 11})
	require.Equal(t, Progress{Todo: []int{1, 2}, Acks: map[int]int64{}}, p)
}

func TestSendEventsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture      string
		wantType     string
		nonRetryable bool
		delay        time.Duration
	}{
		{"error_401_token_required.http", classify.TypeAuth, true, 0},
		{"error_403_invalid_token.http", classify.TypeAuth, true, 0},
		{"error_400_incorrect_index.http", classify.TypeValidation, true, 0},
		{"error_400_ack_disabled.http", classify.TypeValidation, true, 0},
		{"error_404.http", classify.TypeNotFound, true, 0},
		{"error_409.http", classify.TypeConflict, true, 0},
		{"error_422.http", classify.TypeValidation, true, 0},
		{"error_429.http", classify.TypeRateLimited, false, 5 * time.Second},
		{"error_500.http", classify.TypeUnavailable, false, 0},
		{"error_503_busy.http", classify.TypeUnavailable, false, 0},
		{"busy_behind_200.http", classify.TypeUnavailable, false, 0},
		{"malformed_200.http", classify.TypeUnavailable, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			url, _ := server(t, map[string][]string{"*": {tt.fixture}})
			_, err := env(t, url, store).ExecuteActivity(SendEvents, SendEventsInput{Installation: "prod", Events: twoEvents(), Ack: true})
			appErr := activitytest.RequireAppError(t, err, tt.wantType, tt.nonRetryable, secret)
			require.Equal(t, tt.delay, appErr.NextRetryDelay())
		})
	}
}

func TestSendEventsFinal(t *testing.T) {
	t.Parallel()
	url, _ := server(t, nil)
	big := make([]byte, 2<<20)
	for i := range big {
		big[i] = 'a'
	}
	tests := []struct {
		name     string
		store    tokens.Store
		input    SendEventsInput
		wantType string
		wantMsg  string
	}{
		{"missing token", tokens.Static{}, SendEventsInput{Installation: "prod", Events: twoEvents()}, classify.TypeAuth, `splunk: no HEC token for "prod"`},
		{"no events", store, SendEventsInput{}, classify.TypeValidation, "no events"},
		{"too large", store, SendEventsInput{Events: []Event{{Event: json.RawMessage(`"` + string(big) + `"`)}}}, classify.TypeValidation, "larger than the batch limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := env(t, url, tt.store).ExecuteActivity(SendEvents, tt.input)
			activitytest.RequireAppError(t, err, tt.wantType, true, secret)
			require.Contains(t, err.Error(), tt.wantMsg)
		})
	}
}
