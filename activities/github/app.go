package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/hookflow/hookflow/activities/classify"
	"github.com/hookflow/hookflow/connectors/apierror"
	ghconn "github.com/hookflow/hookflow/connectors/github"
	"github.com/hookflow/hookflow/connectors/tokens"
)

// AppSystem is the token store system under which a GitHub App's private
// key (PEM) is kept, with the App ID as the installation:
// hookflow tokens put --system github-app --installation <app id> --from-file key.pem
const AppSystem = "github-app"

func (a *Activities) appTokens() *ghconn.AppTokens {
	a.appOnce.Do(func() {
		if a.AppTokens == nil {
			a.AppTokens = a.Client.AppTokens(ghconn.AppTokensOptions{})
		}
	})
	return a.AppTokens
}

// appToken mints (or takes from the cache) installation's access token.
// Every failure the App's setup causes is final: a missing or unreadable
// private key, a JWT GitHub refuses (401), an installation the App does
// not have (404). Messages name the App and the installation only.
func (a *Activities) appToken(ctx context.Context, installation string) (string, error) {
	id, err := ghconn.ParseInstallationID(installation)
	if err != nil {
		return "", classify.Final(classify.TypeValidation, fmt.Sprintf("%v; acting as GitHub App %q every call needs its installation ID", err, a.AppID))
	}
	key, err := classify.Credential(ctx, a.Tokens, tokens.Key{System: AppSystem, Installation: a.AppID}, "private key for app")
	if err != nil {
		return "", err
	}
	tok, err := a.appTokens().Token(ctx, a.AppID, id, []byte(key))
	switch {
	case errors.Is(err, ghconn.ErrPrivateKey):
		return "", classify.Final(classify.TypeAuth, fmt.Sprintf("github: the private key stored for app %q (%s/%s) is not a PEM-encoded RSA key", a.AppID, AppSystem, a.AppID))
	case err != nil:
		return "", classify.Error(err)
	}
	return tok, nil
}

// fail classifies a connector error of a call for installation, naming
// the installation in the message. Acting as an App, a 401 also drops the
// cached installation token (revoked before it expired), so that the next
// activity mints a new one instead of failing the same way.
func (a *Activities) fail(installation string, err error) error {
	if e, ok := apierror.As(err); ok && e.Status == http.StatusUnauthorized && a.AppID != "" {
		if id, perr := ghconn.ParseInstallationID(installation); perr == nil {
			a.appTokens().Forget(a.AppID, id)
		}
	}
	return classify.Error(fmt.Errorf("installation %q: %w", installation, err))
}
