// Package all registers every activity of Hookflow on a worker, each over
// its connector, from one description of the sites they call. The worker
// command uses it, and so do blueprint tests, which point the sites at
// their recording fakes and so never build a connector themselves.
package all

import (
	"fmt"
	"net/http"
	"time"

	"go.temporal.io/sdk/worker"

	bsact "github.com/hookflow/hookflow/activities/backstage"
	doraact "github.com/hookflow/hookflow/activities/dora"
	ghact "github.com/hookflow/hookflow/activities/github"
	fnact "github.com/hookflow/hookflow/activities/httpfunc"
	jiraact "github.com/hookflow/hookflow/activities/jira"
	payloadact "github.com/hookflow/hookflow/activities/payload"
	snact "github.com/hookflow/hookflow/activities/servicenow"
	splunkact "github.com/hookflow/hookflow/activities/splunk"
	bsconn "github.com/hookflow/hookflow/connectors/backstage"
	doraconn "github.com/hookflow/hookflow/connectors/dora"
	ghconn "github.com/hookflow/hookflow/connectors/github"
	fnconn "github.com/hookflow/hookflow/connectors/httpfunc"
	"github.com/hookflow/hookflow/connectors/payloads"
	snconn "github.com/hookflow/hookflow/connectors/servicenow"
	splunkconn "github.com/hookflow/hookflow/connectors/splunk"
	"github.com/hookflow/hookflow/connectors/tokens"
)

// Sites are the systems the activities call and how. GitHub, the
// functions, the payload store and the DORA tables are always registered;
// Jira, ServiceNow, Backstage and Splunk have no default site, and their
// activities are registered only when one is given.
type Sites struct {
	// GitHubAPIURL is the REST root; empty means api.github.com (GHES:
	// https://HOST/api/v3/).
	GitHubAPIURL string
	// GitHubAppID, when set, has the GitHub activities mint installation
	// tokens for the App.
	GitHubAppID string
	// JiraURL is the Jira site; JiraEmail, with an API token, is Jira
	// Cloud's basic auth (empty: a Data Center personal access token).
	JiraURL, JiraEmail string
	// JiraCloudID, JiraDevInfoAPIURL and JiraDevInfoTokenURL set up Jira
	// Cloud's Development Information API (jiraact.Options: empty means
	// the cloud ID read from the site, and api.atlassian.com).
	JiraCloudID, JiraDevInfoAPIURL, JiraDevInfoTokenURL string
	// ServiceNowURL is the instance; ServiceNowOAuth uses OAuth client
	// credentials instead of basic auth.
	ServiceNowURL   string
	ServiceNowOAuth bool
	// BackstageURL is the Backstage backend.
	BackstageURL string
	// SplunkHECURL is the HTTP Event Collector.
	SplunkHECURL string
	// Functions are the URLs of the functions activities/httpfunc calls,
	// by name.
	Functions map[string]string
	// PayloadURL and PayloadToken reach the ingress's admin API, which
	// serves payloads held by reference and writes the DORA tables. Empty:
	// payloads are only read inline and the DORA activity is not wired.
	PayloadURL, PayloadToken string
	// ParsePayloadRef returns the journal sequence a payload reference
	// names (journal.ParsePayloadRef).
	ParsePayloadRef payloadact.ParseRef
	// Tokens holds every secret the connectors present.
	Tokens tokens.Store
	// HTTPClient returns the client for calls with the given timeout; nil,
	// or a nil client, means each connector's default.
	HTTPClient func(timeout time.Duration) *http.Client
}

func (s Sites) client(timeout time.Duration) *http.Client {
	if s.HTTPClient == nil {
		return nil
	}
	return s.HTTPClient(timeout)
}

// StaticTokens is a token store of fixed secrets, by name, for tests and
// examples.
func StaticTokens(secrets map[string]string) tokens.Store { return tokens.Static(secrets) }

// Register registers on r the activities of every connector s configures.
func Register(r worker.ActivityRegistry, s Sites) error {
	gh, err := ghconn.New(ghconn.Options{BaseURL: s.GitHubAPIURL, HTTPClient: s.client(30 * time.Second)})
	if err != nil {
		return fmt.Errorf("github: %w", err)
	}
	ghact.Register(r, &ghact.Activities{Client: gh, Tokens: s.Tokens, AppID: s.GitHubAppID})
	fnact.Register(r, &fnact.Activities{Client: fnconn.New(fnconn.Options{HTTPClient: s.client(0)}), Tokens: s.Tokens, Functions: s.Functions})
	pa := &payloadact.Activities{ParseRef: s.ParsePayloadRef}
	// The dora activity writes its tables through the ingress, as payloads
	// are read: the same URL and worker token.
	da := &doraact.Activities{Tokens: s.Tokens}
	if s.PayloadURL != "" {
		c, err := payloads.New(payloads.Options{BaseURL: s.PayloadURL, Token: s.PayloadToken})
		if err != nil {
			return fmt.Errorf("--payload-url: %w (the token is HOOKFLOW_WORKER_TOKEN)", err)
		}
		pa.Store = c
		dc, err := doraconn.New(doraconn.Options{BaseURL: s.PayloadURL, Token: s.PayloadToken})
		if err != nil {
			return fmt.Errorf("--payload-url: %w (the token is HOOKFLOW_WORKER_TOKEN)", err)
		}
		da.Client = dc
	}
	payloadact.Register(r, pa)
	doraact.Register(r, da)
	if s.JiraURL != "" {
		a, err := jiraact.New(jiraact.Options{SiteURL: s.JiraURL, Email: s.JiraEmail, CloudID: s.JiraCloudID,
			DevInfoAPIURL: s.JiraDevInfoAPIURL, DevInfoTokenURL: s.JiraDevInfoTokenURL, HTTPClient: s.client(30 * time.Second), Tokens: s.Tokens})
		if err != nil {
			return fmt.Errorf("jira: %w", err)
		}
		jiraact.Register(r, a)
	}
	if s.ServiceNowURL != "" {
		auth := snconn.AuthBasic
		if s.ServiceNowOAuth {
			auth = snconn.AuthOAuthClientCredentials
		}
		c, err := snconn.New(snconn.Options{BaseURL: s.ServiceNowURL, Auth: auth, HTTPClient: s.client(30 * time.Second)})
		if err != nil {
			return fmt.Errorf("servicenow: %w", err)
		}
		snact.Register(r, &snact.Activities{Client: c, Tokens: s.Tokens})
	}
	if s.BackstageURL != "" {
		c, err := bsconn.New(bsconn.Options{BaseURL: s.BackstageURL})
		if err != nil {
			return fmt.Errorf("backstage: %w", err)
		}
		bsact.Register(r, &bsact.Activities{Client: c, Tokens: s.Tokens})
	}
	if s.SplunkHECURL != "" {
		c, err := splunkconn.New(splunkconn.Options{BaseURL: s.SplunkHECURL, HTTPClient: s.client(30 * time.Second)})
		if err != nil {
			return fmt.Errorf("splunk: %w", err)
		}
		splunkact.Register(r, &splunkact.Activities{Client: c, Tokens: s.Tokens})
	}
	return nil
}
