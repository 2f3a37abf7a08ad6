// Package backstage is Hookflow's small client for the Backstage software
// catalog API (the catalog backend's /api/catalog routes): register a
// location, refresh an entity, read an entity by its reference. It knows
// nothing of Temporal: every failed call comes back as *apierror.Error.
//
// The token is passed on every call, as the token store holds it, and sent
// as Authorization: Bearer <token> (a Backstage static token or a service
// token the backend accepts for external access).
package backstage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookflow/hookflow/connectors/apierror"
)

// System is the connector's name in tokens and errors.
const System = "backstage"

// Options configures a Client.
type Options struct {
	// BaseURL is the Backstage backend's root (https://backstage.example.com);
	// the catalog is served under BaseURL/api/catalog. Required: there is no
	// default instance.
	BaseURL string
	// HTTPClient is used for every call. Nil means a client with a 30 s
	// timeout.
	HTTPClient *http.Client
}

// Client calls the catalog API with a token given per call. It is safe for
// concurrent use.
type Client struct {
	catalog *url.URL
	http    *http.Client
}

// New returns a Client. It does no I/O.
func New(opts Options) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(opts.BaseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("backstage: invalid base URL %q", opts.BaseURL)
	}
	c := &Client{catalog: u.JoinPath("api", "catalog"), http: opts.HTTPClient}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	return c, nil
}

// EntityRef names a catalog entity: kind, namespace and name.
type EntityRef struct {
	Kind      string
	Namespace string
	Name      string
}

// DefaultNamespace is the namespace of an entity reference that names
// none.
const DefaultNamespace = "default"

// ParseEntityRef reads "kind:namespace/name" or "kind:name" (in the default
// namespace), Backstage's string form of an entity reference. The kind is
// required: Hookflow never guesses it.
func ParseEntityRef(s string) (EntityRef, error) {
	kind, rest, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || kind == "" || rest == "" {
		return EntityRef{}, fmt.Errorf("backstage: entity reference %q is not kind:namespace/name", s)
	}
	ns, name, ok := strings.Cut(rest, "/")
	if !ok {
		ns, name = DefaultNamespace, rest
	}
	if ns == "" || name == "" || strings.Contains(name, "/") || strings.ContainsAny(kind, "/") {
		return EntityRef{}, fmt.Errorf("backstage: entity reference %q is not kind:namespace/name", s)
	}
	return EntityRef{Kind: kind, Namespace: ns, Name: name}, nil
}

// String returns "kind:namespace/name" in lower case: Backstage compares
// references without case, and its refresh queue keys them in lower case.
func (r EntityRef) String() string {
	return strings.ToLower(r.Kind + ":" + r.Namespace + "/" + r.Name)
}

// Location is a registered catalog location.
type Location struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Target string `json:"target"`
}

// Registration is the outcome of RegisterLocation.
type Registration struct {
	// AlreadyRegistered is true when Backstage answered 409: the location
	// was registered before (by an earlier attempt of the same call, or by
	// someone else). Location and Entities are then empty.
	AlreadyRegistered bool
	// Location is the new location.
	Location Location
	// Entities are the references of the entities Backstage read at the
	// location.
	Entities []EntityRef
}

// Entity is the part of a catalog entity Hookflow reads.
type Entity struct {
	Ref         EntityRef
	UID         string
	Title       string
	Annotations map[string]string
}

// entity is the catalog's JSON form of an entity.
type entity struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		UID         string            `json:"uid"`
		Title       string            `json:"title"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
}

func (e entity) ref() EntityRef {
	ns := e.Metadata.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	return EntityRef{Kind: e.Kind, Namespace: ns, Name: e.Metadata.Name}
}

// RegisterLocation registers target (the URL of a catalog-info.yaml) as a
// location of type "url". A location that is already registered is not an
// error: Backstage answers 409, and the result says AlreadyRegistered.
func (c *Client) RegisterLocation(ctx context.Context, token, target string) (Registration, error) {
	op := "register location " + target
	var res struct {
		Location Location `json:"location"`
		Entities []entity `json:"entities"`
	}
	err := c.do(ctx, token, http.MethodPost, c.catalog.JoinPath("locations"), op, map[string]string{"type": "url", "target": target}, &res)
	if e, ok := apierror.As(err); ok && e.Status == http.StatusConflict {
		return Registration{AlreadyRegistered: true}, nil
	}
	if err != nil {
		return Registration{}, err
	}
	reg := Registration{Location: res.Location}
	for _, e := range res.Entities {
		reg.Entities = append(reg.Entities, e.ref())
	}
	return reg, nil
}

// RefreshEntity asks Backstage to process the entity again soon (read its
// location, update the catalog). The entity must be known to the catalog:
// an unknown one is a 404.
func (c *Client) RefreshEntity(ctx context.Context, token string, ref EntityRef) error {
	op := "refresh " + ref.String()
	return c.do(ctx, token, http.MethodPost, c.catalog.JoinPath("refresh"), op, map[string]string{"entityRef": ref.String()}, nil)
}

// GetEntity reads an entity by its reference; an unknown one is a 404.
func (c *Client) GetEntity(ctx context.Context, token string, ref EntityRef) (Entity, error) {
	op := "get " + ref.String()
	if ref.Kind == "" || ref.Namespace == "" || ref.Name == "" {
		return Entity{}, fmt.Errorf("backstage: %s: the reference needs a kind, a namespace and a name", op)
	}
	u := c.catalog.JoinPath("entities", "by-name", url.PathEscape(ref.Kind), url.PathEscape(ref.Namespace), url.PathEscape(ref.Name))
	var e entity
	if err := c.do(ctx, token, http.MethodGet, u, op, nil, &e); err != nil {
		return Entity{}, err
	}
	return Entity{Ref: e.ref(), UID: e.Metadata.UID, Title: e.Metadata.Title, Annotations: e.Metadata.Annotations}, nil
}

const maxErrorBody = 64 << 10

// do sends one request: in is JSON-encoded when not nil; a 2xx answer is
// decoded into out when out is not nil.
func (c *Client) do(ctx context.Context, token, method string, u *url.URL, op string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("backstage: %s: %w", op, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return &apierror.Error{System: System, Op: op, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		// The URL names no secret; the error may quote it, and that is fine.
		return &apierror.Error{System: System, Op: op, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return &apierror.Error{
			System:     System,
			Op:         op,
			Status:     resp.StatusCode,
			RetryAfter: apierror.RetryAfter(resp.Header, time.Now()),
			Message:    errorMessage(b),
		}
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return &apierror.Error{System: System, Op: op, Message: "malformed response", Err: err}
	}
	return nil
}

// errorMessage reads Backstage's error body,
// {"error": {"name", "message"}, "response": {"statusCode"}}.
func errorMessage(body []byte) string {
	var e struct {
		Error struct {
			Name    string `json:"name"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	msg := e.Error.Message
	if e.Error.Name != "" {
		msg = strings.TrimSuffix(e.Error.Name+": "+msg, ": ")
	}
	if len(msg) > 500 {
		msg = msg[:500] + "…"
	}
	return msg
}
