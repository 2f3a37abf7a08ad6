// Package backstagetest is a fake Backstage catalog backend for tests: an
// httptest server that answers the catalog routes Hookflow calls as the
// catalog backend's OpenAPI description
// (plugins/catalog-backend/src/schema/openapi.yaml) documents them, keeps
// the locations and entities it was told about, and records every request
// it receives, so that a test asserts what Backstage received (and how
// many times) rather than what a mock was called with.
//
// Routes, under /api/catalog:
//
//   - POST /locations {"type", "target"} (optional ?dryRun=true): 201
//     {"location": {"id", "type", "target"}, "entities": [...]} with the
//     entities the test declared at that target; 409 ConflictError when
//     the target is registered already; 400 InputError for a body without
//     type or target.
//   - POST /refresh {"entityRef"} (no other field): 200 with no body; 404
//     NotFoundError for an entity the catalog does not know; 400
//     InputError otherwise.
//   - GET /entities/by-name/{kind}/{namespace}/{name}: 200 the entity, 404
//     NotFoundError.
//
// Entity references are compared without case, as Backstage does. Errors
// have Backstage's shape: {"error": {"name", "message"}, "request":
// {"method", "url"}, "response": {"statusCode"}}.
package backstagetest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Request is one request the fake received.
type Request struct {
	Method string
	// Path is the URL path ("/api/catalog/refresh"); Query the raw query.
	Path  string
	Query string
	// Authorization is the Authorization header as sent.
	Authorization string
	// Body is the request body, exactly as sent.
	Body string
	// Status is what the fake answered.
	Status int
}

// Entity is a catalog entity the fake knows.
type Entity struct {
	Kind      string
	Namespace string // "" means "default"
	Name      string
	// Annotations are the entity's metadata.annotations.
	Annotations map[string]string
}

// Ref returns the entity's reference in lower case, kind:namespace/name.
func (e Entity) Ref() string {
	ns := e.Namespace
	if ns == "" {
		ns = "default"
	}
	return strings.ToLower(e.Kind + ":" + ns + "/" + e.Name)
}

// Server is a fake Backstage backend. Its methods are safe for concurrent
// use with the requests it serves.
type Server struct {
	// URL is the backend's root, to give a client as its base URL.
	URL string

	token string

	mu        sync.Mutex
	requests  []Request
	locations map[string]string   // target -> location ID
	atTarget  map[string][]Entity // what a location's catalog-info.yaml declares
	entities  map[string]Entity   // by lower-case ref
	failures  []failure
	nextID    int
}

type failure struct {
	status     int
	retryAfter string
}

// New starts a fake Backstage backend that requires Authorization: Bearer
// token on every request (an empty token requires none), and closes it
// when the test ends.
func New(t testing.TB, token string) *Server {
	t.Helper()
	s := &Server{token: token, locations: map[string]string{}, atTarget: map[string][]Entity{}, entities: map[string]Entity{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Declare says which entities the catalog-info.yaml at target declares:
// registering target adds them to the catalog.
func (s *Server) Declare(target string, entities ...Entity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.atTarget[target] = append(s.atTarget[target], entities...)
}

// Register registers target as if someone had done it before the test:
// the location exists and its declared entities are in the catalog.
func (s *Server) Register(target string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.register(target)
}

func (s *Server) register(target string) (string, []Entity) {
	s.nextID++
	id := fmt.Sprintf("00000000-0000-4000-8000-%012d", s.nextID)
	s.locations[target] = id
	for _, e := range s.atTarget[target] {
		s.entities[e.Ref()] = e
	}
	return id, s.atTarget[target]
}

// FailNext makes the next n requests fail with status (503 for "Backstage
// is down"), with a Retry-After header when retryAfter is not empty; the
// requests are still recorded. Later requests are served again.
func (s *Server) FailNext(n, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, failure{status: status, retryAfter: retryAfter})
	}
}

// Requests returns every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Received returns the requests received for method and path.
func (s *Server) Received(method, path string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Method == method && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// Locations returns the registered targets and their location IDs.
func (s *Server) Locations() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.locations))
	for k, v := range s.locations {
		out[k] = v
	}
	return out
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Authorization: r.Header.Get("Authorization"), Body: string(body)}
	s.mu.Lock()
	defer s.mu.Unlock()
	status := s.serve(w, r, body)
	rec.Status = status
	s.requests = append(s.requests, rec)
}

// serve answers one request, with s.mu held, and returns the status.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, body []byte) int {
	if len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		return writeError(w, r, f.status, "ServiceUnavailableError", "the catalog is not available")
	}
	if s.token != "" && r.Header.Get("Authorization") != "Bearer "+s.token {
		return writeError(w, r, http.StatusUnauthorized, "AuthenticationError", "Missing or invalid credentials")
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/api/catalog/")
	if !ok {
		return writeError(w, r, http.StatusNotFound, "NotFoundError", "no such route")
	}
	switch {
	case r.Method == http.MethodPost && path == "locations":
		return s.createLocation(w, r, body)
	case r.Method == http.MethodPost && path == "refresh":
		return s.refresh(w, r, body)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "entities/by-name/"):
		return s.entityByName(w, r, strings.TrimPrefix(path, "entities/by-name/"))
	}
	return writeError(w, r, http.StatusNotFound, "NotFoundError", "no such route")
}

func (s *Server) createLocation(w http.ResponseWriter, r *http.Request, body []byte) int {
	var in struct {
		Type   string `json:"type"`
		Target string `json:"target"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Type == "" || in.Target == "" {
		return writeError(w, r, http.StatusBadRequest, "InputError", "Invalid request body: type and target are required")
	}
	declared := s.atTarget[in.Target]
	if r.URL.Query().Get("dryRun") == "true" {
		_, exists := s.locations[in.Target]
		return writeJSON(w, http.StatusCreated, map[string]any{
			"exists":   exists,
			"location": map[string]string{"id": "dry-run", "type": in.Type, "target": in.Target},
			"entities": entitiesJSON(declared),
		})
	}
	if _, exists := s.locations[in.Target]; exists {
		return writeError(w, r, http.StatusConflict, "ConflictError", "Location "+in.Type+":"+in.Target+" already exists")
	}
	id, entities := s.register(in.Target)
	return writeJSON(w, http.StatusCreated, map[string]any{
		"location": map[string]string{"id": id, "type": in.Type, "target": in.Target},
		"entities": entitiesJSON(entities),
	})
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request, body []byte) int {
	var in map[string]json.RawMessage
	if json.Unmarshal(body, &in) != nil {
		return writeError(w, r, http.StatusBadRequest, "InputError", "Invalid request body")
	}
	var ref string
	if json.Unmarshal(in["entityRef"], &ref) != nil || ref == "" {
		return writeError(w, r, http.StatusBadRequest, "InputError", "Invalid request body: entityRef is required")
	}
	for k := range in {
		if k != "entityRef" && k != "authorizationToken" { // additionalProperties: false
			return writeError(w, r, http.StatusBadRequest, "InputError", "Invalid request body: unknown property "+k)
		}
	}
	if _, ok := s.entities[strings.ToLower(ref)]; !ok {
		return writeError(w, r, http.StatusNotFound, "NotFoundError", "Entity "+ref+" not found")
	}
	w.WriteHeader(http.StatusOK)
	return http.StatusOK
}

func (s *Server) entityByName(w http.ResponseWriter, r *http.Request, rest string) int {
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return writeError(w, r, http.StatusBadRequest, "InputError", "expected /entities/by-name/{kind}/{namespace}/{name}")
	}
	ref := strings.ToLower(parts[0] + ":" + parts[1] + "/" + parts[2])
	e, ok := s.entities[ref]
	if !ok {
		return writeError(w, r, http.StatusNotFound, "NotFoundError", "No entity named '"+parts[2]+"' found, with kind '"+parts[0]+"' in namespace '"+parts[1]+"'")
	}
	return writeJSON(w, http.StatusOK, entityJSON(e))
}

func entityJSON(e Entity) map[string]any {
	ns := e.Namespace
	if ns == "" {
		ns = "default"
	}
	meta := map[string]any{"name": e.Name, "namespace": ns, "uid": "uid-" + e.Ref()}
	if len(e.Annotations) > 0 {
		meta["annotations"] = e.Annotations
	}
	return map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": e.Kind, "metadata": meta, "spec": map[string]any{}}
}

func entitiesJSON(es []Entity) []map[string]any {
	out := []map[string]any{}
	for _, e := range es {
		out = append(out, entityJSON(e))
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) int {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
	return status
}

func writeError(w http.ResponseWriter, r *http.Request, status int, name, message string) int {
	return writeJSON(w, status, map[string]any{
		"error":    map[string]string{"name": name, "message": message},
		"request":  map[string]string{"method": r.Method, "url": r.URL.RequestURI()},
		"response": map[string]any{"statusCode": status},
	})
}
