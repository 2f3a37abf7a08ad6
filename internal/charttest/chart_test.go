package charttest

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// chartDir is the chart under test.
var chartDir = filepath.Join("..", "..", "deploy", "helm", "hookflow")

// rendered is one values file's output, decoded.
type rendered struct {
	deployments     []*appsv1.Deployment
	services        []*corev1.Service
	configMaps      map[string]bool
	hpas            []*autoscalingv2.HorizontalPodAutoscaler
	pdbs            []*policyv1.PodDisruptionBudget
	ingresses       []*networkingv1.Ingress
	netpols         []*networkingv1.NetworkPolicy
	serviceMonitors []*monitoringv1.ServiceMonitor
	rules           []*monitoringv1.PrometheusRule
	routes          []*Route
	scaledObjects   []*ScaledObject
	serviceAccounts map[string]bool
	kinds           []string
}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	c, err := loader.Load(chartDir)
	require.NoError(t, err)
	return c
}

// render renders the chart as `helm template` does (the Helm SDK's client-
// only install, values.schema.json enforced) with the values files given.
func render(t *testing.T, valuesFiles ...string) (string, map[string]any, error) {
	t.Helper()
	vals := map[string]any{}
	for _, f := range valuesFiles {
		v, err := chartutil.ReadValuesFile(filepath.Join(chartDir, f))
		require.NoError(t, err)
		vals = chartutil.CoalesceTables(v.AsMap(), vals)
	}
	return renderValues(t, vals)
}

func renderValues(t *testing.T, vals map[string]any) (string, map[string]any, error) {
	t.Helper()
	inst := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	inst.ClientOnly, inst.DryRun, inst.Replace = true, true, true
	inst.ReleaseName, inst.Namespace = "hf", "hookflow"
	inst.KubeVersion = &chartutil.KubeVersion{Version: "v1.32.0", Major: "1", Minor: "32"}
	rel, err := inst.Run(loadChart(t), vals)
	if err != nil {
		return "", nil, err
	}
	return rel.Manifest, rel.Config, nil
}

// decode decodes every document strictly into its type: a field the type
// lacks (a typo, a wrong level of indentation) fails.
func decode(t *testing.T, manifest string) *rendered {
	t.Helper()
	r := &rendered{configMaps: map[string]bool{}, serviceAccounts: map[string]bool{}}
	docs := releaseutil.SplitManifests(manifest)
	keys := make([]string, 0, len(docs))
	for k := range docs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		doc := docs[k]
		var tm metav1.TypeMeta
		require.NoError(t, yaml.Unmarshal([]byte(doc), &tm))
		gvk := tm.APIVersion + "/" + tm.Kind
		r.kinds = append(r.kinds, gvk)
		strict := func(into any) {
			t.Helper()
			require.NoError(t, yaml.UnmarshalStrict([]byte(doc), into), "%s:\n%s", gvk, doc)
		}
		switch gvk {
		case "apps/v1/Deployment":
			var o appsv1.Deployment
			strict(&o)
			r.deployments = append(r.deployments, &o)
		case "v1/Service":
			var o corev1.Service
			strict(&o)
			r.services = append(r.services, &o)
		case "v1/ConfigMap":
			var o corev1.ConfigMap
			strict(&o)
			r.configMaps[o.Name] = true
		case "v1/ServiceAccount":
			var o corev1.ServiceAccount
			strict(&o)
			r.serviceAccounts[o.Name] = true
		case "autoscaling/v2/HorizontalPodAutoscaler":
			var o autoscalingv2.HorizontalPodAutoscaler
			strict(&o)
			r.hpas = append(r.hpas, &o)
		case "policy/v1/PodDisruptionBudget":
			var o policyv1.PodDisruptionBudget
			strict(&o)
			r.pdbs = append(r.pdbs, &o)
		case "networking.k8s.io/v1/Ingress":
			var o networkingv1.Ingress
			strict(&o)
			r.ingresses = append(r.ingresses, &o)
		case "networking.k8s.io/v1/NetworkPolicy":
			var o networkingv1.NetworkPolicy
			strict(&o)
			r.netpols = append(r.netpols, &o)
		case "monitoring.coreos.com/v1/ServiceMonitor":
			var o monitoringv1.ServiceMonitor
			strict(&o)
			r.serviceMonitors = append(r.serviceMonitors, &o)
		case "monitoring.coreos.com/v1/PrometheusRule":
			var o monitoringv1.PrometheusRule
			strict(&o)
			r.rules = append(r.rules, &o)
		case "route.openshift.io/v1/Route":
			var o Route
			strict(&o)
			r.routes = append(r.routes, &o)
		case "keda.sh/v1alpha1/ScaledObject":
			var o ScaledObject
			strict(&o)
			r.scaledObjects = append(r.scaledObjects, &o)
		default:
			t.Fatalf("%s: a kind this test does not decode: add it", gvk)
		}
	}
	return r
}

// TestChartRenders renders the chart with each values file and checks
// every object against the Kubernetes types and against each other.
func TestChartRenders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		files     []string
		wantKinds []string
		// external are the Secrets the values declare as existing.
		external []string
	}{
		{
			name:      "default",
			files:     nil,
			wantKinds: []string{"apps/v1/Deployment", "v1/Service", "autoscaling/v2/HorizontalPodAutoscaler", "policy/v1/PodDisruptionBudget", "v1/ServiceAccount"},
			external:  []string{"hookflow"},
		},
		{
			name:  "production",
			files: []string{"ci/production-values.yaml"},
			wantKinds: []string{"networking.k8s.io/v1/Ingress", "keda.sh/v1alpha1/ScaledObject", "monitoring.coreos.com/v1/ServiceMonitor",
				"monitoring.coreos.com/v1/PrometheusRule", "networking.k8s.io/v1/NetworkPolicy", "v1/ConfigMap"},
			external: []string{"hookflow", "hookflow-temporal-client", "hooks-example-com-tls"},
		},
		{
			name:      "openshift",
			files:     []string{"ci/openshift-values.yaml"},
			wantKinds: []string{"route.openshift.io/v1/Route", "autoscaling/v2/HorizontalPodAutoscaler"},
			external:  []string{"hookflow-vso", "hookflow-serving-cert"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			manifest, vals, err := render(t, tt.files...)
			require.NoError(t, err)
			r := decode(t, manifest)
			for _, k := range tt.wantKinds {
				require.Contains(t, r.kinds, k)
			}
			require.Len(t, r.deployments, 2, "the ingress and the worker")
			checkPods(t, r)
			checkSelectors(t, r)
			checkReferences(t, r, tt.external)
			checkNoSecretValues(t, manifest, vals)
		})
	}
}

// checkPods checks the restrictive security context, probes on ports the
// container opens, and the read-only root filesystem's writable mounts.
func checkPods(t *testing.T, r *rendered) {
	t.Helper()
	for _, d := range r.deployments {
		spec := d.Spec.Template.Spec
		sc := spec.SecurityContext
		require.NotNil(t, sc, d.Name)
		require.True(t, *sc.RunAsNonRoot, d.Name)
		require.Nil(t, sc.RunAsUser, "%s: no fixed UID, so OpenShift's restricted SCC can assign one", d.Name)
		require.Nil(t, sc.FSGroup, "%s: no fixed fsGroup (OpenShift assigns it)", d.Name)
		require.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, sc.SeccompProfile.Type, d.Name)
		for _, c := range spec.Containers {
			csc := c.SecurityContext
			require.NotNil(t, csc, c.Name)
			require.True(t, *csc.ReadOnlyRootFilesystem, c.Name)
			require.False(t, *csc.AllowPrivilegeEscalation, c.Name)
			require.Equal(t, []corev1.Capability{"ALL"}, csc.Capabilities.Drop, c.Name)
			require.Empty(t, csc.Capabilities.Add, c.Name)
			require.Nil(t, csc.Privileged, c.Name)
			require.NotEmpty(t, c.Resources.Requests, "%s: resources requested", c.Name)
			mounts := map[string]bool{}
			for _, m := range c.VolumeMounts {
				mounts[m.MountPath] = true
			}
			require.True(t, mounts["/var/lib/hookflow"], "%s: the data directory is writable", c.Name)
			require.True(t, mounts["/tmp"], c.Name)
			for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
				if p == nil {
					continue
				}
				require.NotNil(t, p.HTTPGet, "%s: HTTP probes only (the image has no shell)", c.Name)
				require.True(t, containerPort(c, p.HTTPGet.Port), "%s: probe on %s, a port the container does not open", c.Name, p.HTTPGet.Port.String())
			}
			if c.Name == "ingress" {
				require.NotNil(t, c.ReadinessProbe, "the ingress has a readiness probe")
				require.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
				require.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
				if c.Resources.Limits.Memory() != nil && !c.Resources.Limits.Memory().IsZero() {
					// It collects garbage at GOGC=200: the runtime must know
					// the container's limit.
					var limit *corev1.EnvVar
					for i := range c.Env {
						if c.Env[i].Name == "GOMEMLIMIT" {
							limit = &c.Env[i]
						}
					}
					require.NotNil(t, limit, "the ingress has GOMEMLIMIT with a memory limit")
					require.Equal(t, "limits.memory", limit.ValueFrom.ResourceFieldRef.Resource)
				}
			}
		}
	}
}

func containerPort(c corev1.Container, p intstr.IntOrString) bool {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return true
		}
	}
	return false
}

// deploymentFor returns the Deployment whose pods sel selects.
func (r *rendered) deploymentFor(t *testing.T, sel map[string]string, what string) *appsv1.Deployment {
	t.Helper()
	require.NotEmpty(t, sel, "%s: an empty selector selects everything", what)
	var found []*appsv1.Deployment
	for _, d := range r.deployments {
		if labels.SelectorFromSet(sel).Matches(labels.Set(d.Spec.Template.Labels)) {
			found = append(found, d)
		}
	}
	require.Len(t, found, 1, "%s: its selector %v must select exactly one Deployment's pods", what, sel)
	return found[0]
}

func (r *rendered) deployment(t *testing.T, name, what string) *appsv1.Deployment {
	t.Helper()
	for _, d := range r.deployments {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("%s: targets Deployment %q, which is not rendered", what, name)
	return nil
}

func (r *rendered) service(t *testing.T, name, what string) *corev1.Service {
	t.Helper()
	for _, s := range r.services {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("%s: targets Service %q, which is not rendered", what, name)
	return nil
}

func servicePort(s *corev1.Service, p intstr.IntOrString) bool {
	for _, sp := range s.Spec.Ports {
		if (p.Type == intstr.String && sp.Name == p.StrVal) || (p.Type == intstr.Int && sp.Port == p.IntVal) {
			return true
		}
	}
	return false
}

// checkSelectors checks that every selector and reference between the
// objects lands: Deployments select their own pods, Services select pods
// that open their target ports, and the HPA, PDB, ScaledObject, Ingress,
// Route, ServiceMonitor and NetworkPolicy point at what is rendered.
func checkSelectors(t *testing.T, r *rendered) {
	t.Helper()
	for _, d := range r.deployments {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		require.NoError(t, err)
		require.True(t, sel.Matches(labels.Set(d.Spec.Template.Labels)), "%s selects its own pods", d.Name)
		for _, o := range r.deployments {
			if o != d {
				require.False(t, sel.Matches(labels.Set(o.Spec.Template.Labels)), "%s does not select %s's pods", d.Name, o.Name)
			}
		}
	}
	for _, s := range r.services {
		d := r.deploymentFor(t, s.Spec.Selector, "Service "+s.Name)
		for _, p := range s.Spec.Ports {
			require.True(t, containerPort(d.Spec.Template.Spec.Containers[0], p.TargetPort), "Service %s port %s: target %s is not a container port of %s", s.Name, p.Name, p.TargetPort.String(), d.Name)
		}
	}
	for _, h := range r.hpas {
		require.Equal(t, "Deployment", h.Spec.ScaleTargetRef.Kind)
		d := r.deployment(t, h.Spec.ScaleTargetRef.Name, "HPA "+h.Name)
		require.Nil(t, d.Spec.Replicas, "%s: replicas are the HPA's to set", d.Name)
		require.GreaterOrEqual(t, h.Spec.MaxReplicas, *h.Spec.MinReplicas)
		for _, c := range d.Spec.Template.Spec.Containers {
			require.NotNil(t, c.Resources.Requests.Cpu(), "a CPU HPA needs a CPU request")
		}
	}
	for _, p := range r.pdbs {
		r.deploymentFor(t, p.Spec.Selector.MatchLabels, "PDB "+p.Name)
	}
	for _, so := range r.scaledObjects {
		d := r.deployment(t, so.Spec.ScaleTargetRef.Name, "ScaledObject "+so.Name)
		require.Nil(t, d.Spec.Replicas, "%s: replicas are KEDA's to set", d.Name)
		for _, h := range r.hpas {
			require.NotEqual(t, d.Name, h.Spec.ScaleTargetRef.Name, "KEDA and the chart's HPA must not both scale %s", d.Name)
		}
		for _, tr := range so.Spec.Triggers {
			require.Equal(t, "temporal", tr.Type)
			for k := range tr.Metadata {
				require.True(t, temporalTriggerMetadata[k], "KEDA's temporal scaler has no metadata %q", k)
			}
			require.NotEmpty(t, tr.Metadata["endpoint"])
			require.NotEmpty(t, tr.Metadata["taskQueue"])
		}
	}
	for _, in := range r.ingresses {
		for _, rule := range in.Spec.Rules {
			for _, p := range rule.HTTP.Paths {
				b := p.Backend.Service
				s := r.service(t, b.Name, "Ingress "+in.Name)
				port := intstr.FromString(b.Port.Name)
				if b.Port.Name == "" {
					port = intstr.FromInt32(b.Port.Number)
				}
				require.True(t, servicePort(s, port), "Ingress %s: Service %s has no port %s", in.Name, s.Name, port.String())
				require.NotContains(t, s.Name, "admin", "the admin API is never exposed")
			}
		}
	}
	for _, rt := range r.routes {
		require.Equal(t, "Service", rt.Spec.To.Kind)
		s := r.service(t, rt.Spec.To.Name, "Route "+rt.Name)
		require.NotContains(t, s.Name, "admin", "the admin API is never exposed")
		require.True(t, servicePort(s, rt.Spec.Port.TargetPort), "Route %s: Service %s has no port %s", rt.Name, s.Name, rt.Spec.Port.TargetPort.String())
		require.Contains(t, []string{"edge", "reencrypt", "passthrough"}, rt.Spec.TLS.Termination)
	}
	for _, sm := range r.serviceMonitors {
		var found *corev1.Service
		for _, s := range r.services {
			if labels.SelectorFromSet(sm.Spec.Selector.MatchLabels).Matches(labels.Set(s.Labels)) {
				require.Nil(t, found, "ServiceMonitor %s selects one Service", sm.Name)
				found = s
			}
		}
		require.NotNil(t, found, "ServiceMonitor %s selects no rendered Service", sm.Name)
		for _, e := range sm.Spec.Endpoints {
			require.True(t, servicePort(found, intstr.FromString(e.Port)), "ServiceMonitor %s: Service %s has no port %q", sm.Name, found.Name, e.Port)
			require.Equal(t, "/metrics", e.Path)
		}
	}
	for _, np := range r.netpols {
		d := r.deploymentFor(t, np.Spec.PodSelector.MatchLabels, "NetworkPolicy "+np.Name)
		for _, rule := range np.Spec.Ingress {
			for _, p := range rule.Ports {
				require.True(t, containerPort(d.Spec.Template.Spec.Containers[0], *p.Port), "NetworkPolicy %s: %s opens no port %s", np.Name, d.Name, p.Port.String())
			}
		}
	}
	for _, pr := range r.rules {
		for _, g := range pr.Spec.Groups {
			for _, rule := range g.Rules {
				require.NotEmpty(t, rule.Alert)
				require.Regexp(t, `hookflow_|up\{`, rule.Expr.String(), "alert %s reads Hookflow's metrics", rule.Alert)
			}
		}
	}
}

// checkReferences checks that every ConfigMap, Secret and service account
// a pod uses is rendered or declared as existing in the values.
func checkReferences(t *testing.T, r *rendered, external []string) {
	t.Helper()
	used := map[string]bool{}
	for _, d := range r.deployments {
		spec := d.Spec.Template.Spec
		require.True(t, r.serviceAccounts[spec.ServiceAccountName], "%s: service account %q is rendered", d.Name, spec.ServiceAccountName)
		for _, v := range spec.Volumes {
			switch {
			case v.ConfigMap != nil:
				require.True(t, r.configMaps[v.ConfigMap.Name], "%s: ConfigMap %q is not rendered", d.Name, v.ConfigMap.Name)
			case v.Secret != nil:
				require.Contains(t, external, v.Secret.SecretName, "%s: Secret %q is neither rendered nor declared existing", d.Name, v.Secret.SecretName)
				used[v.Secret.SecretName] = true
			case v.EmptyDir != nil:
			default:
				t.Fatalf("%s: volume %s of an unexpected kind", d.Name, v.Name)
			}
		}
		for _, c := range spec.Containers {
			for _, ef := range c.EnvFrom {
				require.NotNil(t, ef.SecretRef, "%s: envFrom only from the existing Secret", c.Name)
				require.Contains(t, external, ef.SecretRef.Name)
				used[ef.SecretRef.Name] = true
			}
			for _, e := range c.Env {
				if e.ValueFrom != nil {
					// Only the container's own resources (GOMEMLIMIT) are read
					// by reference here; Secrets go through envFrom.
					require.NotNil(t, e.ValueFrom.ResourceFieldRef, "%s: %s by reference goes through envFrom", c.Name, e.Name)
					require.Nil(t, e.ValueFrom.SecretKeyRef, "%s: %s", c.Name, e.Name)
				}
				require.NotContains(t, e.Name, "SECRET_KEY", "%s: a secret is never a literal value", c.Name)
				require.NotContains(t, e.Name, "TOKEN", "%s: a secret is never a literal value", c.Name)
			}
		}
	}
	for _, in := range r.ingresses {
		for _, tls := range in.Spec.TLS {
			require.Contains(t, external, tls.SecretName)
			used[tls.SecretName] = true
		}
	}
	for _, name := range external {
		require.True(t, used[name], "Secret %s is declared but no object uses it", name)
	}
}

// checkNoSecretValues: the chart never renders a Secret or a secret value.
func checkNoSecretValues(t *testing.T, manifest string, _ map[string]any) {
	t.Helper()
	require.NotContains(t, manifest, "kind: Secret\n")
	require.NotRegexp(t, `(?i)password|BEGIN [A-Z ]*PRIVATE KEY`, manifest)
}

// TestValuesSchemaRefuses: values.schema.json catches the mistakes an
// operator makes.
func TestValuesSchemaRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vals map[string]any
		want string
	}{
		{"misspelled key", map[string]any{"ingres": map[string]any{"replicas": 3}}, "ingres"},
		{"misspelled nested key", map[string]any{"ingress": map[string]any{"replica": 3}}, "replica"},
		{"service type", map[string]any{"ingress": map[string]any{"service": map[string]any{"type": "Public"}}}, "type"},
		{"route termination", map[string]any{"ingress": map[string]any{"route": map[string]any{"termination": "none"}}}, "termination"},
		{"temporal address without port", map[string]any{"temporal": map[string]any{"address": "temporal-frontend"}}, "address"},
		{"zero ingress replicas", map[string]any{"ingress": map[string]any{"autoscaling": map[string]any{"minReplicas": 0}}}, "minReplicas"},
		{"string for a number", map[string]any{"worker": map[string]any{"replicas": "two"}}, "replicas"},
		{"admin port out of range", map[string]any{"ingress": map[string]any{"adminService": map[string]any{"port": 70000}}}, "port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := renderValues(t, tt.vals)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
		})
	}
	t.Run("required together", func(t *testing.T) {
		t.Parallel()
		_, _, err := renderValues(t, map[string]any{"ingress": map[string]any{"tls": map[string]any{"enabled": true}}})
		require.ErrorContains(t, err, "ingress.tls.secretName is required")
	})
}

// TestEveryValueDocumented: every key of values.yaml has a comment above
// it, but the sections that only group documented keys and the contents
// of free-form maps (resources, annotations, security contexts).
func TestEveryValueDocumented(t *testing.T) {
	t.Parallel()
	f, err := os.Open(filepath.Join(chartDir, "values.yaml"))
	require.NoError(t, err)
	defer f.Close()
	key := regexp.MustCompile(`^(\s*)([A-Za-z][A-Za-z0-9]*):(.*)$`)
	free := []string{"resources", "podSecurityContext", "containerSecurityContext", "annotations", "podAnnotations", "nodeSelector", "affinity", "labels", "config"}
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	freeIndent := -1
	var undocumented []string
	for i, l := range lines {
		m := key.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		indent := len(m[1])
		if freeIndent >= 0 && indent > freeIndent {
			continue // inside a free-form map
		}
		freeIndent = -1
		if slices.Contains(free, m[2]) {
			freeIndent = indent
		}
		next := i + 1
		for next < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[next]), "#") {
			next++
		}
		section := strings.TrimSpace(m[3]) == "" && next < len(lines) && len(lines[next])-len(strings.TrimLeft(lines[next], " ")) > indent
		if section && !slices.Contains(free, m[2]) {
			continue
		}
		j := i - 1
		for j >= 0 && strings.TrimSpace(lines[j]) != "" && strings.HasPrefix(strings.TrimSpace(lines[j]), "#") && !strings.HasPrefix(strings.TrimSpace(lines[j]), "# --") {
			j-- // a comment's continuation lines
		}
		if j < 0 || !strings.HasPrefix(strings.TrimSpace(lines[j]), "# --") {
			undocumented = append(undocumented, strings.TrimSpace(l))
		}
	}
	require.Empty(t, undocumented, "values without a \"# --\" comment above them")
}

// TestVaultAgentAnnotations: the injector's annotations land on every
// pod, and its role is required.
func TestVaultAgentAnnotations(t *testing.T) {
	t.Parallel()
	agent := func(role string) map[string]any {
		return map[string]any{"vault": map[string]any{"agentInjector": map[string]any{
			"enabled": true, "role": role,
			"annotations": map[string]any{"vault.hashicorp.com/agent-inject-secret-temporal.crt": "pki/issue/hookflow"},
		}}}
	}
	manifest, _, err := renderValues(t, agent("hookflow"))
	require.NoError(t, err)
	r := decode(t, manifest)
	for _, d := range r.deployments {
		a := d.Spec.Template.Annotations
		require.Equal(t, "true", a["vault.hashicorp.com/agent-inject"], d.Name)
		require.Equal(t, "hookflow", a["vault.hashicorp.com/role"], d.Name)
		require.Equal(t, "pki/issue/hookflow", a["vault.hashicorp.com/agent-inject-secret-temporal.crt"], d.Name)
	}
	_, _, err = renderValues(t, agent(""))
	require.ErrorContains(t, err, "vault.agentInjector.role is required")
}
