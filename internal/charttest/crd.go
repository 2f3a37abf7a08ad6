package charttest

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The two custom resources whose projects publish no Go module this
// workplace can use: OpenShift's Route (github.com/openshift/api is served
// only as v3.9.0+incompatible, from 2018) and KEDA's ScaledObject
// (github.com/kedacore/keda/v2 is not served). These are field-for-field
// mirrors of route/v1 types.go (openshift/api, release-4.16) and
// apis/keda/v1alpha1/scaledobject_types.go (kedacore/keda v2.17): strict
// decoding into them rejects any field those types lack. Status is left
// out: a chart never renders it.

// Route is route.openshift.io/v1 Route.
type Route struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              RouteSpec `json:"spec"`
}

// RouteSpec is route.openshift.io/v1 RouteSpec.
type RouteSpec struct {
	Host              string                 `json:"host,omitempty"`
	Subdomain         string                 `json:"subdomain,omitempty"`
	Path              string                 `json:"path,omitempty"`
	To                RouteTargetReference   `json:"to"`
	AlternateBackends []RouteTargetReference `json:"alternateBackends,omitempty"`
	Port              *RoutePort             `json:"port,omitempty"`
	TLS               *TLSConfig             `json:"tls,omitempty"`
	WildcardPolicy    string                 `json:"wildcardPolicy,omitempty"`
	HTTPHeaders       map[string]any         `json:"httpHeaders,omitempty"`
}

// RouteTargetReference is route.openshift.io/v1 RouteTargetReference.
type RouteTargetReference struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Weight *int32 `json:"weight"`
}

// RoutePort is route.openshift.io/v1 RoutePort.
type RoutePort struct {
	TargetPort intstr.IntOrString `json:"targetPort"`
}

// TLSConfig is route.openshift.io/v1 TLSConfig.
type TLSConfig struct {
	Termination                   string         `json:"termination"`
	Certificate                   string         `json:"certificate,omitempty"`
	Key                           string         `json:"key,omitempty"`
	CACertificate                 string         `json:"caCertificate,omitempty"`
	DestinationCACertificate      string         `json:"destinationCACertificate,omitempty"`
	InsecureEdgeTerminationPolicy string         `json:"insecureEdgeTerminationPolicy,omitempty"`
	ExternalCertificate           *LocalObjRefer `json:"externalCertificate,omitempty"`
}

// LocalObjRefer is route.openshift.io/v1 LocalObjectReference.
type LocalObjRefer struct {
	Name string `json:"name,omitempty"`
}

// ScaledObject is keda.sh/v1alpha1 ScaledObject.
type ScaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              ScaledObjectSpec `json:"spec"`
}

// ScaledObjectSpec is keda.sh/v1alpha1 ScaledObjectSpec.
type ScaledObjectSpec struct {
	ScaleTargetRef        *ScaleTarget    `json:"scaleTargetRef"`
	PollingInterval       *int32          `json:"pollingInterval,omitempty"`
	InitialCooldownPeriod *int32          `json:"initialCooldownPeriod,omitempty"`
	CooldownPeriod        *int32          `json:"cooldownPeriod,omitempty"`
	IdleReplicaCount      *int32          `json:"idleReplicaCount,omitempty"`
	MinReplicaCount       *int32          `json:"minReplicaCount,omitempty"`
	MaxReplicaCount       *int32          `json:"maxReplicaCount,omitempty"`
	Advanced              *AdvancedConfig `json:"advanced,omitempty"`
	Triggers              []ScaleTriggers `json:"triggers"`
	Fallback              *Fallback       `json:"fallback,omitempty"`
}

// ScaleTarget is keda.sh/v1alpha1 ScaleTarget.
type ScaleTarget struct {
	Name                   string `json:"name"`
	APIVersion             string `json:"apiVersion,omitempty"`
	Kind                   string `json:"kind,omitempty"`
	EnvSourceContainerName string `json:"envSourceContainerName,omitempty"`
}

// AdvancedConfig is keda.sh/v1alpha1 AdvancedConfig.
type AdvancedConfig struct {
	HorizontalPodAutoscalerConfig *HorizontalPodAutoscalerConfig `json:"horizontalPodAutoscalerConfig,omitempty"`
	RestoreToOriginalReplicaCount bool                           `json:"restoreToOriginalReplicaCount,omitempty"`
	ScalingModifiers              map[string]any                 `json:"scalingModifiers,omitempty"`
}

// HorizontalPodAutoscalerConfig is keda.sh/v1alpha1
// HorizontalPodAutoscalerConfig.
type HorizontalPodAutoscalerConfig struct {
	Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
	Name     string                                         `json:"name,omitempty"`
}

// ScaleTriggers is keda.sh/v1alpha1 ScaleTriggers.
type ScaleTriggers struct {
	Type              string                         `json:"type"`
	Name              string                         `json:"name,omitempty"`
	UseCachedMetrics  bool                           `json:"useCachedMetrics,omitempty"`
	Metadata          map[string]string              `json:"metadata"`
	AuthenticationRef *AuthenticationRef             `json:"authenticationRef,omitempty"`
	MetricType        autoscalingv2.MetricTargetType `json:"metricType,omitempty"`
}

// AuthenticationRef is keda.sh/v1alpha1 AuthenticationRef.
type AuthenticationRef struct {
	Name string `json:"name"`
	Kind string `json:"kind,omitempty"`
}

// Fallback is keda.sh/v1alpha1 Fallback.
type Fallback struct {
	FailureThreshold int32  `json:"failureThreshold"`
	Replicas         int32  `json:"replicas"`
	Behavior         string `json:"behavior,omitempty"`
}

// temporalTriggerMetadata are the keys KEDA's temporal scaler reads
// (keda.sh/docs/2.17+/scalers/temporal): metadata is a free map in the
// type, so the test checks its keys against this list.
var temporalTriggerMetadata = map[string]bool{
	"endpoint": true, "endpointFromEnv": true, "namespace": true, "taskQueue": true, "targetQueueSize": true,
	"activationTargetQueueSize": true, "queueTypes": true, "buildId": true, "workerDeploymentName": true,
	"workerDeploymentBuildId": true, "selectAllActive": true, "selectUnversioned": true, "minConnectTimeout": true,
	"unsafeSsl": true, "tlsServerName": true, "enableTLS": true,
}
