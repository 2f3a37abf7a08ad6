package splunk

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/connectors/apierror"
	"github.com/hookflow/hookflow/connectors/replaytest"
)

const (
	secret  = "s3cr3t-9b2f-4c1e-8a7d-hec-token"
	channel = "0aeeac95-ac74-4aa9-b30d-6c4c0ac581ba"
)

type seen struct {
	Path, Auth, Channel string
	Body                []byte
}

// replay answers each path with its fixtures in turn, the last repeating.
func replay(t *testing.T, routes map[string][]string) (*httptest.Server, func() []seen) {
	t.Helper()
	var mu sync.Mutex
	var reqs []seen
	calls := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		reqs = append(reqs, seen{r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("X-Splunk-Request-Channel"), body})
		n := calls[r.URL.Path]
		calls[r.URL.Path]++
		mu.Unlock()
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
		writeRecorded(t, w, files[n])
	}))
	t.Cleanup(srv.Close)
	return srv, func() []seen { mu.Lock(); defer mu.Unlock(); return append([]seen(nil), reqs...) }
}

func writeRecorded(t *testing.T, w http.ResponseWriter, name string) {
	replaytest.WriteResponse(t, w, filepath.Join("testdata", name))
}

func newClient(t *testing.T, base string, opts Options) *Client {
	t.Helper()
	opts.BaseURL = base
	c, err := New(opts)
	require.NoError(t, err)
	return c
}

func ev(payload string) Event { return Event{Event: json.RawMessage(payload)} }

func TestBatches(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 24, 12, 0, 0, 123e6, time.UTC)
	full := Event{Time: at, Host: "ci-1", Source: "hookflow", SourceType: "hookflow:deploy", Index: "sdlc", Event: json.RawMessage(`{"sha":"abc"}`), Fields: map[string]any{"env": "prod"}}
	tests := []struct {
		name      string
		opts      Options
		events    []Event
		want      []string
		wantErrIs error
	}{
		{"one full event", Options{}, []Event{full},
			[]string{`{"time":1795521600.123,"host":"ci-1","source":"hookflow","sourcetype":"hookflow:deploy","index":"sdlc","event":{"sha":"abc"},"fields":{"env":"prod"}}`}, nil},
		{"newline joined", Options{}, []Event{ev(`"a"`), ev(`{"b":1}`)}, []string{`{"event":"a"}` + "\n" + `{"event":{"b":1}}`}, nil},
		{"split by count", Options{MaxBatchEvents: 2}, []Event{ev(`1`), ev(`2`), ev(`3`)}, []string{`{"event":1}` + "\n" + `{"event":2}`, `{"event":3}`}, nil},
		{"split by bytes", Options{MaxBatchBytes: 25}, []Event{ev(`"aaaa"`), ev(`"bbbb"`)}, []string{`{"event":"aaaa"}`, `{"event":"bbbb"}`}, nil},
		{"too large", Options{MaxBatchBytes: 10}, []Event{ev(`"aaaaaaaaaaaa"`)}, nil, ErrEventTooLarge},
		{"empty", Options{}, []Event{ev(``)}, nil, ErrEmptyEvent},
		{"none", Options{}, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := newClient(t, "https://hec.example.com:8088", tt.opts).Batches(tt.events)
			if tt.wantErrIs != nil {
				require.ErrorIs(t, err, tt.wantErrIs)
				return
			}
			require.NoError(t, err)
			var s []string
			for _, b := range got {
				s = append(s, string(b))
			}
			require.Equal(t, tt.want, s)
		})
	}
}

func TestSendBatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, channel, fixture string
		want                   int64
	}{
		{"no channel", "", "event_200.http", NoAck},
		{"channel with ack", channel, "event_ack1_200.http", 1},
		{"channel, ack off", channel, "event_200.http", NoAck},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, reqs := replay(t, map[string][]string{"/services/collector/event": {tt.fixture}})
			id, err := newClient(t, srv.URL, Options{}).SendBatch(context.Background(), secret, []byte(`{"event":"x"}`), tt.channel)
			require.NoError(t, err)
			require.Equal(t, tt.want, id)
			r := reqs()[0]
			require.Equal(t, "Splunk "+secret, r.Auth)
			require.Equal(t, tt.channel, r.Channel)
			require.Equal(t, `{"event":"x"}`, string(r.Body))
		})
	}
}

func TestWaitAcks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		acks        []string
		wantPending []int64
		minPolls    int
	}{
		{"acked over two polls", []string{"ack_partial_200.http", "ack_all_200.http"}, nil, 2},
		{"times out", []string{"ack_none_200.http"}, []int64{0, 1}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, reqs := replay(t, map[string][]string{"/services/collector/ack": tt.acks})
			c := newClient(t, srv.URL, Options{AckPollInterval: 5 * time.Millisecond, AckTimeout: 50 * time.Millisecond})
			var polls [][]int64
			pending, err := c.WaitAcks(context.Background(), secret, channel, []int64{0, 1}, func(p []int64) { polls = append(polls, p) })
			require.NoError(t, err)
			require.Equal(t, tt.wantPending, pending)
			require.GreaterOrEqual(t, len(polls), tt.minPolls)
			rs := reqs()
			require.JSONEq(t, `{"acks":[0,1]}`, string(rs[0].Body))
			require.Equal(t, channel, rs[0].Channel)
			if tt.wantPending == nil {
				require.Equal(t, []int64{1}, polls[0])
				require.JSONEq(t, `{"acks":[1]}`, string(rs[1].Body), "only pending ids are asked again")
			}
		})
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture    string
		status     int
		retryAfter time.Duration
		message    string
	}{
		{"error_401_token_required.http", 401, 0, "Token is required (code 2)"},
		{"error_401_invalid_authorization.http", 401, 0, "Invalid authorization (code 3)"},
		{"error_403_invalid_token.http", 403, 0, "Invalid token (code 4)"},
		{"error_403_token_disabled.http", 403, 0, "Token disabled (code 1)"},
		{"error_400_invalid_data.http", 400, 0, "Invalid data format (code 6)"},
		{"error_400_incorrect_index.http", 400, 0, "Incorrect index (code 7)"},
		{"error_400_channel_missing.http", 400, 0, "Data channel is missing (code 10)"},
		{"error_400_ack_disabled.http", 400, 0, "ACK is disabled (code 14)"},
		{"error_404.http", 404, 0, "The requested URL was not found on this server. (code 404)"},
		{"error_409.http", 409, 0, "Conflict (code 409)"},
		{"error_422.http", 422, 0, "Unprocessable entity (code 422)"},
		{"error_429.http", 429, 5 * time.Second, "Too many requests (code 429)"},
		{"error_500.http", 500, 0, "Internal server error (code 8)"},
		{"error_503_busy.http", 503, 0, "Server is busy (code 9)"},
		{"error_503_unhealthy.http", 503, 0, "HEC is unhealthy, queues are full (code 18)"},
		{"busy_behind_200.http", 503, 0, "Server is busy (code 9)"},
		{"error_502_html.http", 502, 0, ""},
		{"malformed_200.http", 0, 0, "malformed response"},
	}
	ops := map[string]func(c *Client) error{
		"send": func(c *Client) error {
			_, err := c.SendBatch(context.Background(), secret, []byte(`{"event":1}`), channel)
			return err
		},
		"ack": func(c *Client) error {
			_, err := c.QueryAcks(context.Background(), secret, channel, []int64{0})
			return err
		},
	}
	for _, tt := range tests {
		for name, op := range ops {
			t.Run(tt.fixture+"/"+name, func(t *testing.T) {
				t.Parallel()
				srv, _ := replay(t, map[string][]string{"*": {tt.fixture}})
				err := op(newClient(t, srv.URL, Options{}))
				e, ok := apierror.As(err)
				require.True(t, ok, "%T %v", err, err)
				require.Equal(t, System, e.System)
				require.Equal(t, tt.status, e.Status)
				require.Equal(t, tt.retryAfter, e.RetryAfter)
				require.Equal(t, tt.message, e.Message)
				require.NotContains(t, err.Error(), secret)
			})
		}
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	srv, _ := replay(t, map[string][]string{"*": {"ack_none_200.http"}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	c := newClient(t, srv.URL, Options{AckPollInterval: 5 * time.Millisecond, AckTimeout: time.Hour})
	_, err := c.WaitAcks(ctx, secret, channel, []int64{0}, nil)
	require.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
}
