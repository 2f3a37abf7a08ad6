// Package devserver runs a real Temporal server, persisted in SQLite, and
// optionally the Temporal Web UI, inside the calling process. It is what
// `hookflow dev` uses so that a laptop needs nothing but the hookflow binary.
//
// The package links the whole Temporal server (a ~15 minute cold build), so
// only cmd/hookflow imports it; unit tests of everything else never do.
package devserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	sdkclient "go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	tlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

// Options configures an embedded Temporal dev server.
type Options struct {
	// IP is the address every listener binds to. Empty means 127.0.0.1.
	IP string
	// GRPCPort is the frontend gRPC port clients dial. Zero means 7233.
	// The history, matching and worker services take the next three ports
	// and the frontend HTTP API the fourth, so that restarts on the same
	// database find their peers at the same addresses.
	GRPCPort int
	// UIPort is the Web UI port. Zero disables the UI.
	UIPort int
	// DatabaseFile is the SQLite file. Empty means an in-memory database.
	DatabaseFile string
	// Namespace is created when missing. Empty means "default".
	Namespace string
	// LogLevel is the server's own log level ("debug", "info", "warn",
	// "error"). Empty means "warn": the server is chatty.
	LogLevel string
	// SearchAttributes are registered in Namespace at start when missing,
	// as the Temporal CLI's --search-attribute does.
	SearchAttributes map[string]enumspb.IndexedValueType
	// TLS, when set, makes the frontend serve gRPC over TLS and require a
	// client certificate (mTLS), as a production cluster does. Nil means
	// plaintext. The Web UI cannot dial such a frontend: UIPort must be 0.
	TLS *TLS
}

// TLS is the frontend's TLS configuration (PEM files).
type TLS struct {
	// CertFile and KeyFile are the frontend's server certificate; it
	// must name IP (or ServerName).
	CertFile, KeyFile string
	// ClientCAFile verifies client certificates.
	ClientCAFile string
	// WorkerCertFile and WorkerKeyFile are the client certificate the
	// server's own system workers dial the frontend with; it must be
	// signed by ClientCAFile.
	WorkerCertFile, WorkerKeyFile string
	// RootCAFile verifies the frontend's certificate for the system
	// workers.
	RootCAFile string
	// ServerName is the name the system workers expect on the frontend's
	// certificate. Empty means IP.
	ServerName string
}

// clientConfig is the TLS configuration of a client that dials the
// frontend as the system workers do (their certificate, RootCAFile).
func (t *TLS) clientConfig(ip string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(t.WorkerCertFile, t.WorkerKeyFile)
	if err != nil {
		return nil, fmt.Errorf("worker certificate: %w", err)
	}
	pem, err := os.ReadFile(t.RootCAFile)
	if err != nil {
		return nil, fmt.Errorf("root CA: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("root CA %s: no PEM certificate", t.RootCAFile)
	}
	name := t.ServerName
	if name == "" {
		name = ip
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots, ServerName: name, MinVersion: tls.VersionTLS12}, nil
}

// Server is a running embedded Temporal server.
type Server struct {
	temporal temporal.Server
	ui       *uiserver.Server
	opts     Options
}

// Start builds and starts the server and, when UIPort is set, the Web UI.
// It returns once the frontend accepts connections.
func Start(opts Options) (*Server, error) {
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	if opts.GRPCPort == 0 {
		opts.GRPCPort = 7233
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "warn"
	}
	for i := 0; i <= 4; i++ {
		if err := portFree(opts.IP, opts.GRPCPort+i); err != nil {
			return nil, fmt.Errorf("devserver: port %d (gRPC port %d + %d) is taken: %w", opts.GRPCPort+i, opts.GRPCPort, i, err)
		}
	}
	if opts.TLS != nil && opts.UIPort != 0 {
		return nil, errors.New("devserver: the Web UI cannot dial a TLS frontend: disable it (UIPort 0)")
	}
	if opts.UIPort != 0 {
		if err := portFree(opts.IP, opts.UIPort); err != nil {
			return nil, fmt.Errorf("devserver: UI port %d is taken: %w", opts.UIPort, err)
		}
	}
	conf, err := opts.serverConfig()
	if err != nil {
		return nil, err
	}
	logger := tlog.NewZapLogger(tlog.BuildZapLogger(tlog.Config{Level: opts.LogLevel, Format: "json"}))

	dyn := dynamicconfig.StaticClient{
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8096,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
	}
	hostPort := func(port int) static.Hosts {
		return static.SingleLocalHost(net.JoinHostPort(opts.IP, strconv.Itoa(port)))
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(map[primitives.ServiceName]static.Hosts{
			primitives.FrontendService: hostPort(opts.GRPCPort),
			primitives.HistoryService:  hostPort(opts.GRPCPort + 1),
			primitives.MatchingService: hostPort(opts.GRPCPort + 2),
			primitives.WorkerService:   hostPort(opts.GRPCPort + 3),
		}),
		temporal.WithLogger(logger),
		temporal.WithDynamicConfigClient(dyn),
	)
	if err != nil {
		return nil, fmt.Errorf("devserver: build server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("devserver: start server: %w", err)
	}
	s := &Server{temporal: srv, opts: opts}
	if err := s.registerSearchAttributes(); err != nil {
		s.Stop()
		return nil, err
	}
	if opts.UIPort != 0 {
		s.ui = uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
			Host:                opts.IP,
			Port:                opts.UIPort,
			TemporalGRPCAddress: s.Address(),
			EnableUI:            true,
			CORS:                uiconfig.CORS{CookieInsecure: true},
			HideLogs:            true,
		}))
		uiErr := make(chan error, 1)
		go func() { uiErr <- s.ui.Start() }()
		if err := waitListening(opts.IP, opts.UIPort, uiErr, 30*time.Second); err != nil {
			s.Stop()
			return nil, fmt.Errorf("devserver: start UI: %w", err)
		}
	}
	return s, nil
}

// Address is the frontend gRPC host:port for SDK clients.
func (s *Server) Address() string {
	return net.JoinHostPort(s.opts.IP, strconv.Itoa(s.opts.GRPCPort))
}

// UIAddress is the Web UI's base URL, or "" when the UI is disabled.
func (s *Server) UIAddress() string {
	if s.ui == nil {
		return ""
	}
	return "http://" + net.JoinHostPort(s.opts.IP, strconv.Itoa(s.opts.UIPort))
}

// Stop stops the UI and the server. It returns when the server has released
// its database, so the same file can be opened again right after.
func (s *Server) Stop() {
	if s.ui != nil {
		s.ui.Stop()
	}
	s.temporal.Stop()
}

// registerSearchAttributes adds the attributes of Options.SearchAttributes
// the namespace lacks: none on a database created with them (sqlConfig),
// all of them on one created before they were listed.
func (s *Server) registerSearchAttributes() error {
	if len(s.opts.SearchAttributes) == 0 {
		return nil
	}
	dial := sdkclient.Options{HostPort: s.Address(), Namespace: s.opts.Namespace, Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))}
	if t := s.opts.TLS; t != nil {
		// A TLS frontend requires a client certificate: the system
		// workers' own.
		tc, err := t.clientConfig(s.opts.IP)
		if err != nil {
			return fmt.Errorf("devserver: register search attributes: %w", err)
		}
		dial.ConnectionOptions.TLS = tc
	}
	c, err := sdkclient.Dial(dial)
	if err != nil {
		return fmt.Errorf("devserver: connect to register search attributes: %w", err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: s.opts.Namespace})
	if err != nil {
		return fmt.Errorf("devserver: list search attributes: %w", err)
	}
	add := map[string]enumspb.IndexedValueType{}
	for name, t := range s.opts.SearchAttributes {
		if _, ok := have.GetCustomAttributes()[name]; !ok {
			add[name] = t
		}
	}
	if len(add) == 0 {
		return nil
	}
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: s.opts.Namespace, SearchAttributes: add}); err != nil {
		return fmt.Errorf("devserver: register search attributes: %w", err)
	}
	return nil
}

func (o Options) serverConfig() (*config.Config, error) {
	var conf config.Config
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = o.IP

	sqlConf, err := o.sqlConfig()
	if err != nil {
		return nil, err
	}
	conf.Persistence.DefaultStore = "sqlite"
	conf.Persistence.VisibilityStore = "sqlite"
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{"sqlite": {SQL: sqlConf}}

	addr := net.JoinHostPort(o.IP, strconv.Itoa(o.GRPCPort))
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        "active",
		CurrentClusterName:       "active",
		ClusterInformation: map[string]cluster.ClusterInformation{
			"active": {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             addr,
				HTTPAddress:            net.JoinHostPort(o.IP, strconv.Itoa(o.GRPCPort+4)),
				ClusterID:              "5c6f1c35-7f40-4b1e-9a8e-68f0e0c4d2a1", // any fixed UUID: the dev cluster never changes
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	service := func(grpcPort, httpPort int) config.Service {
		var s config.Service
		s.RPC.GRPCPort = grpcPort
		s.RPC.BindOnIP = o.IP
		s.RPC.HTTPPort = httpPort
		return s
	}
	conf.Services = map[string]config.Service{
		"frontend": service(o.GRPCPort, o.GRPCPort+4),
		"history":  service(o.GRPCPort+1, 0),
		"matching": service(o.GRPCPort+2, 0),
		"worker":   service(o.GRPCPort+3, 0),
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = addr
	if t := o.TLS; t != nil {
		name := t.ServerName
		if name == "" {
			name = o.IP
		}
		conf.Global.TLS.Frontend.Server = config.ServerTLS{CertFile: t.CertFile, KeyFile: t.KeyFile, ClientCAFiles: []string{t.ClientCAFile}, RequireClientAuth: true}
		conf.Global.TLS.SystemWorker = config.WorkerTLS{CertFile: t.WorkerCertFile, KeyFile: t.WorkerKeyFile,
			Client: config.ClientTLS{ServerName: name, RootCAFiles: []string{t.RootCAFile}}}
	}
	return &conf, nil
}

func (o Options) sqlConfig() (*config.SQL, error) {
	conf := config.SQL{PluginName: sqliteplugin.PluginName}
	if o.DatabaseFile == "" {
		conf.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		conf.DatabaseName = fmt.Sprintf("hookflow-%d", time.Now().UnixNano())
	} else {
		// WAL with synchronous=normal roughly doubles throughput (FACTS.md).
		conf.ConnectAttributes = map[string]string{"mode": "rwc", "journal_mode": "wal", "synchronous": "normal"}
		conf.DatabaseName = o.DatabaseFile
		if _, err := os.Stat(o.DatabaseFile); errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(filepath.Dir(o.DatabaseFile), 0o700); err != nil {
				return nil, fmt.Errorf("devserver: create database dir: %w", err)
			}
			if err := sqliteschema.SetupSchema(&conf); err != nil {
				return nil, fmt.Errorf("devserver: set up schema: %w", err)
			}
		}
	}
	// A new database gets the search attributes with its namespace, so
	// that the first workflow task already finds their mapping (added at
	// runtime, the history service sees them only when its namespace cache
	// refreshes, and upserts fail until then). A database from before
	// gets them from registerSearchAttributes.
	ns, err := sqliteschema.NewNamespaceConfig("active", o.Namespace, false, o.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("devserver: namespace config: %w", err)
	}
	if err := sqliteschema.CreateNamespaces(&conf, ns); err != nil {
		return nil, fmt.Errorf("devserver: create namespace: %w", err)
	}
	return &conf, nil
}

func portFree(ip string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}

func waitListening(ip string, port int, failed <-chan error, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	for time.Now().Before(deadline) {
		select {
		case err := <-failed:
			return err
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			return c.Close()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("nothing listening on %s after %s", addr, timeout)
}
