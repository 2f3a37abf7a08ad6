package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v62/github"
)

// AppKeySystem is the token store system under which a GitHub App's
// private key (PEM) is kept, with the App ID as the installation: the
// workers' activities/github.AppSystem, which this package cannot import.
const AppKeySystem = "github-app"

// Hook names a webhook whose deliveries GitHub records and redelivers: the
// GitHub App's own hook, a repository hook or an organization hook.
type Hook struct {
	// Kind is "app", "repos" or "orgs".
	Kind string
	// Owner is the repository's owner or the organization; Repo the
	// repository (repos only).
	Owner, Repo string
	// ID is the hook's ID (not for the App's hook).
	ID int64
}

// ParseHook reads "app", "repos/OWNER/REPO/hooks/ID" or
// "orgs/ORG/hooks/ID".
func ParseHook(s string) (Hook, error) {
	if s == "app" {
		return Hook{Kind: "app"}, nil
	}
	bad := fmt.Errorf("github: hook %q: want app, repos/OWNER/REPO/hooks/ID or orgs/ORG/hooks/ID", s)
	parts := strings.Split(s, "/")
	var h Hook
	var id string
	switch {
	case len(parts) == 5 && parts[0] == "repos" && parts[3] == "hooks":
		h, id = Hook{Kind: "repos", Owner: parts[1], Repo: parts[2]}, parts[4]
	case len(parts) == 4 && parts[0] == "orgs" && parts[2] == "hooks":
		h, id = Hook{Kind: "orgs", Owner: parts[1]}, parts[3]
	default:
		return Hook{}, bad
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 || h.Owner == "" || (h.Kind == "repos" && h.Repo == "") {
		return Hook{}, bad
	}
	h.ID = n
	return h, nil
}

// String returns the hook as ParseHook reads it.
func (h Hook) String() string {
	switch h.Kind {
	case "app":
		return "app"
	case "repos":
		return fmt.Sprintf("repos/%s/%s/hooks/%d", h.Owner, h.Repo, h.ID)
	}
	return fmt.Sprintf("orgs/%s/hooks/%d", h.Owner, h.ID)
}

// path is the hook's deliveries collection under the API root.
func (h Hook) path() string {
	switch h.Kind {
	case "app":
		return "app/hook/deliveries"
	case "repos":
		return fmt.Sprintf("repos/%s/%s/hooks/%d/deliveries", url.PathEscape(h.Owner), url.PathEscape(h.Repo), h.ID)
	}
	return fmt.Sprintf("orgs/%s/hooks/%d/deliveries", url.PathEscape(h.Owner), h.ID)
}

// HookDelivery is one delivery attempt GitHub recorded for a hook. A
// redelivery is recorded as another attempt with the same GUID.
type HookDelivery struct {
	// ID is the attempt's ID, which a redelivery request names.
	ID int64
	// GUID is the delivery's X-GitHub-Delivery, the same on every attempt.
	GUID        string
	DeliveredAt time.Time
	Redelivery  bool
	// Status is GitHub's description ("OK", "Invalid HTTP Response: 503",
	// "timed out"); StatusCode is the receiver's answer, zero when there
	// was none (a timeout, no connection).
	Status         string
	StatusCode     int
	Event          string
	Action         string
	InstallationID int64
}

// DeliveriesPage is one page of a hook's recorded deliveries.
type DeliveriesPage struct {
	Deliveries []HookDelivery
	// Next is the URL of the next page, from the Link header; empty on the
	// last page.
	Next string
	// Rate is the rate limit as the answer's X-RateLimit-* headers left it.
	Rate Rate
}

// Rate is GitHub's account of a rate limit (X-RateLimit-Limit,
// -Remaining, -Reset); the zero Rate when the answer had none.
type Rate struct {
	Limit, Remaining int
	Reset            time.Time
}

// Spent reports whether no call is left before Reset, at now.
func (r Rate) Spent(now time.Time) bool {
	return r.Limit > 0 && r.Remaining == 0 && now.Before(r.Reset)
}

func rateOf(resp *gh.Response) Rate {
	if resp == nil {
		return Rate{}
	}
	return Rate{Limit: resp.Rate.Limit, Remaining: resp.Rate.Remaining, Reset: resp.Rate.Reset.Time}
}

// ListHookDeliveries returns one page of the deliveries GitHub recorded for
// hook, newest first: the first page when next is empty, else the page at
// next (a DeliveriesPage.Next). token is a token with the hook's read
// permission, or for the App's hook the App's JWT (AppJWT). Errors are
// *apierror.Error; a next URL outside the API root is refused, so that the
// token never travels elsewhere.
func (c *Client) ListHookDeliveries(ctx context.Context, token string, hook Hook, next string) (DeliveriesPage, error) {
	op := "list deliveries of hook " + hook.String()
	u := hook.path() + "?per_page=100"
	if next != "" {
		// Only the next link's query (the cursor) is taken, as go-github
		// does: the request goes to the hook's own path under the API
		// root, so that the token never travels to another host.
		q, err := linkQuery(next)
		if err != nil {
			return DeliveriesPage{}, convert(op, err)
		}
		u = hook.path() + "?" + q
	}
	api := c.api(token)
	req, err := api.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return DeliveriesPage{}, convert(op, err)
	}
	var list []*gh.HookDelivery
	resp, err := api.Do(ctx, req, &list)
	if err != nil {
		return DeliveriesPage{}, convert(op, err)
	}
	page := DeliveriesPage{Deliveries: make([]HookDelivery, 0, len(list))}
	for _, d := range list {
		page.Deliveries = append(page.Deliveries, HookDelivery{
			ID: d.GetID(), GUID: d.GetGUID(), DeliveredAt: d.GetDeliveredAt().Time, Redelivery: d.GetRedelivery(),
			Status: d.GetStatus(), StatusCode: d.GetStatusCode(), Event: d.GetEvent(), Action: d.GetAction(),
			InstallationID: d.GetInstallationID(),
		})
	}
	page.Next = nextLink(strings.Join(resp.Header.Values("Link"), ","))
	page.Rate = rateOf(resp)
	return page, nil
}

// RedeliverHookDelivery asks GitHub to send delivery attempt id of hook
// again (POST .../deliveries/{id}/attempts, answered 202): GitHub then
// sends the original payload, with the same GUID, signed with the hook's
// current secret.
// The Rate returned is the rate limit as GitHub's answer left it.
func (c *Client) RedeliverHookDelivery(ctx context.Context, token string, hook Hook, id int64) (Rate, error) {
	op := fmt.Sprintf("redeliver delivery %d of hook %s", id, hook)
	api := c.api(token)
	req, err := api.NewRequest(http.MethodPost, fmt.Sprintf("%s/%d/attempts", hook.path(), id), nil)
	if err != nil {
		return Rate{}, convert(op, err)
	}
	resp, err := api.Do(ctx, req, nil)
	if _, accepted := errors.AsType[*gh.AcceptedError](err); accepted {
		return rateOf(resp), nil
	}
	if err != nil {
		return rateOf(resp), convert(op, err)
	}
	return rateOf(resp), nil
}

// BaseURL returns the client's REST API root.
func (c *Client) BaseURL() string { return c.base.String() }

// AppJWTFromPEM is AppJWT with the App's private key in PEM, as the token
// store keeps it. Errors wrap ErrPrivateKey and never show the key.
func AppJWTFromPEM(appID string, privateKeyPEM []byte, now time.Time) (string, error) {
	key, err := parseKey(privateKeyPEM)
	if err != nil {
		return "", fmt.Errorf("github: app %s: %w", appID, err)
	}
	return AppJWT(appID, key, now)
}

// linkQuery is the query of a next-page link, which must hold one.
func linkQuery(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.RawQuery == "" {
		return "", fmt.Errorf("the next page link %q holds no query", raw)
	}
	return u.RawQuery, nil
}

// nextLink returns the rel="next" URL of a Link header, or "".
func nextLink(header string) string {
	for _, link := range strings.Split(header, ",") {
		segs := strings.Split(strings.TrimSpace(link), ";")
		if len(segs) < 2 {
			continue
		}
		target := strings.TrimSpace(segs[0])
		if !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
			continue
		}
		for _, s := range segs[1:] {
			if rel := strings.ReplaceAll(strings.TrimSpace(s), " ", ""); rel == `rel="next"` || rel == `rel=next` {
				return target[1 : len(target)-1]
			}
		}
	}
	return ""
}
