// Package backstage holds the Temporal activities that keep a Backstage
// software catalog current through connectors/backstage: register a
// repository's catalog-info.yaml as a location, refresh an entity. Each
// activity fetches the instance's token when it runs (tokens key {System:
// "backstage", Installation: instance}) and classifies failures with
// activities/classify.
//
// Both activities are idempotent, so the default retry presets apply: a
// location that is already registered (Backstage's 409, also what a retry
// of a registration whose answer was lost gets) is a success with
// AlreadyRegistered set, and a refresh only schedules work Backstage does
// anyway.
package backstage

import (
	"context"
	"net/url"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	"github.com/hookflow/hookflow/activities/classify"
	bsconn "github.com/hookflow/hookflow/connectors/backstage"
	"github.com/hookflow/hookflow/connectors/tokens"
)

// Activity names, as workflows call them.
const (
	// RegisterLocation registers a catalog-info.yaml URL as a location.
	RegisterLocation = "backstage.RegisterLocation"
	// RefreshEntity asks Backstage to process an entity again.
	RefreshEntity = "backstage.RefreshEntity"
)

// Activities are the Backstage activities; the fields are their
// dependencies.
type Activities struct {
	Client *bsconn.Client
	Tokens tokens.Store
}

// Register registers every Backstage activity under its name.
func Register(r worker.ActivityRegistry, a *Activities) {
	r.RegisterActivityWithOptions(a.RegisterLocation, activity.RegisterOptions{Name: RegisterLocation, DisableAlreadyRegisteredCheck: true})
	r.RegisterActivityWithOptions(a.RefreshEntity, activity.RegisterOptions{Name: RefreshEntity, DisableAlreadyRegisteredCheck: true})
}

// RegisterLocationInput is the input of RegisterLocation.
type RegisterLocationInput struct {
	// Installation names the Backstage instance; it selects the token. ""
	// is the instance-wide token.
	Installation string
	// Target is the URL of the catalog-info.yaml to register
	// (https://github.com/acme/payments/blob/main/catalog-info.yaml).
	// Required.
	Target string
}

// RegisterLocationOutput is the result of RegisterLocation.
type RegisterLocationOutput struct {
	// AlreadyRegistered is true when the location was registered before:
	// LocationID and EntityRefs are then empty, and the entities, which
	// Backstage knows already, are refreshed by reference.
	AlreadyRegistered bool
	// LocationID is the new location's ID.
	LocationID string
	// EntityRefs are the references ("component:default/payments") of the
	// entities Backstage read at the location, in lower case.
	EntityRefs []string
}

// RegisterLocation registers in.Target as a location of type url.
func (a *Activities) RegisterLocation(ctx context.Context, in RegisterLocationInput) (RegisterLocationOutput, error) {
	if u, err := url.Parse(in.Target); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return RegisterLocationOutput{}, classify.Final(classify.TypeValidation, "backstage.RegisterLocation: target must be an absolute http(s) URL")
	}
	token, err := a.token(ctx, in.Installation)
	if err != nil {
		return RegisterLocationOutput{}, err
	}
	reg, err := a.Client.RegisterLocation(ctx, token, in.Target)
	if err != nil {
		return RegisterLocationOutput{}, classify.Error(err)
	}
	out := RegisterLocationOutput{AlreadyRegistered: reg.AlreadyRegistered, LocationID: reg.Location.ID}
	for _, r := range reg.Entities {
		out.EntityRefs = append(out.EntityRefs, r.String())
	}
	return out, nil
}

// RefreshEntityInput is the input of RefreshEntity.
type RefreshEntityInput struct {
	// Installation names the Backstage instance; it selects the token.
	Installation string
	// EntityRef is the entity's reference, "kind:namespace/name" or
	// "kind:name" in the default namespace (what catalog-info.yaml's kind
	// and metadata name). Required.
	EntityRef string
}

// RefreshEntityOutput is the result of RefreshEntity.
type RefreshEntityOutput struct {
	// EntityRef is the reference refreshed, in Backstage's lower-case
	// full form.
	EntityRef string
}

// RefreshEntity asks Backstage to refresh the entity. An entity the
// catalog does not know fails with the non-retryable
// classify.TypeNotFound: register its location first.
func (a *Activities) RefreshEntity(ctx context.Context, in RefreshEntityInput) (RefreshEntityOutput, error) {
	ref, err := bsconn.ParseEntityRef(in.EntityRef)
	if err != nil {
		return RefreshEntityOutput{}, classify.Final(classify.TypeValidation, "backstage.RefreshEntity: "+err.Error())
	}
	token, err := a.token(ctx, in.Installation)
	if err != nil {
		return RefreshEntityOutput{}, err
	}
	if err := a.Client.RefreshEntity(ctx, token, ref); err != nil {
		return RefreshEntityOutput{}, classify.Error(err)
	}
	return RefreshEntityOutput{EntityRef: ref.String()}, nil
}

func (a *Activities) token(ctx context.Context, installation string) (string, error) {
	return classify.Credential(ctx, a.Tokens, tokens.Key{System: bsconn.System, Installation: installation}, "token for instance")
}
