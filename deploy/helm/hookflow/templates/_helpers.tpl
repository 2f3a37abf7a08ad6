{{/* The chart's name. */}}
{{- define "hookflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release-based prefix of every object's name. */}}
{{- define "hookflow.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "hookflow.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "hookflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component (ingress, worker): pass (dict "ctx" . "component" "ingress"). */}}
{{- define "hookflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hookflow.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "hookflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "hookflow.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "hookflow.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The webhook URL senders use. */}}
{{- define "hookflow.publicURL" -}}
{{- if .Values.ingress.publicURL -}}
{{- .Values.ingress.publicURL -}}
{{- else if .Values.ingress.k8sIngress.enabled -}}
{{- printf "https://%s" .Values.ingress.k8sIngress.host -}}
{{- else if and .Values.ingress.route.enabled .Values.ingress.route.host -}}
{{- printf "https://%s" .Values.ingress.route.host -}}
{{- else -}}
{{- printf "http://%s" (include "hookflow.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* Pod annotations shared by every pod: the configuration's checksum and Vault Agent. */}}
{{- define "hookflow.podAnnotations" -}}
{{- if .Values.config }}
checksum/config: {{ toYaml .Values.config | sha256sum }}
{{- end }}
{{- if .Values.vault.agentInjector.enabled }}
vault.hashicorp.com/agent-inject: "true"
vault.hashicorp.com/role: {{ required "vault.agentInjector.role is required with the agent injector" .Values.vault.agentInjector.role | quote }}
{{- range $k, $v := .Values.vault.agentInjector.annotations }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Environment shared by the ingress and the workers. */}}
{{- define "hookflow.env" -}}
- name: HOOKFLOW_DATA_DIR
  value: /var/lib/hookflow
- name: TEMPORAL_ADDRESS
  value: {{ .Values.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ .Values.temporal.namespace | quote }}
{{- if .Values.config }}
- name: HOOKFLOW_CONFIG
  value: /etc/hookflow/hookflow.yaml
{{- end }}
{{- if .Values.temporal.tls.enabled }}
- name: TEMPORAL_TLS
  value: "true"
{{- if .Values.temporal.tls.serverName }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ .Values.temporal.tls.serverName | quote }}
{{- end }}
{{- if .Values.temporal.tls.secretName }}
- name: TEMPORAL_TLS_CERT
  value: /etc/hookflow/temporal-tls/tls.crt
- name: TEMPORAL_TLS_KEY
  value: /etc/hookflow/temporal-tls/tls.key
{{- if .Values.temporal.tls.hasCA }}
- name: TEMPORAL_TLS_CA
  value: /etc/hookflow/temporal-tls/ca.crt
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Volumes shared by every pod. */}}
{{- define "hookflow.volumes" -}}
- name: data
  emptyDir: {}
- name: tmp
  emptyDir: {}
{{- if .Values.config }}
- name: config
  configMap:
    name: {{ include "hookflow.fullname" . }}-config
{{- end }}
{{- if and .Values.temporal.tls.enabled .Values.temporal.tls.secretName }}
- name: temporal-tls
  secret:
    secretName: {{ .Values.temporal.tls.secretName }}
{{- end }}
{{- end -}}

{{- define "hookflow.volumeMounts" -}}
- name: data
  mountPath: /var/lib/hookflow
- name: tmp
  mountPath: /tmp
{{- if .Values.config }}
- name: config
  mountPath: /etc/hookflow/hookflow.yaml
  subPath: hookflow.yaml
  readOnly: true
{{- end }}
{{- if and .Values.temporal.tls.enabled .Values.temporal.tls.secretName }}
- name: temporal-tls
  mountPath: /etc/hookflow/temporal-tls
  readOnly: true
{{- end }}
{{- end -}}

{{- define "hookflow.envFrom" -}}
{{- if .Values.secrets.existingSecret }}
envFrom:
  - secretRef:
      name: {{ .Values.secrets.existingSecret }}
{{- end }}
{{- end -}}
