{{/* The platform's name, and its parts' labels: app.kubernetes.io/name=gpudev plus the component. */}}
{{- define "gpudev.labels" -}}
app.kubernetes.io/name: gpudev
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "gpudev.selector" -}}
app.kubernetes.io/name: gpudev
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "gpudev.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The database URL every part reads, as an env var: from the chart's own PostgreSQL, or the operator's Secret. */}}
{{- define "gpudev.databaseEnv" -}}
{{- if .Values.database.internal.enabled }}
- name: POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ include "gpudev.postgresSecret" . }}, key: password}
- name: DATABASE_URL
  value: postgresql://gpudev:$(POSTGRES_PASSWORD)@{{ .Release.Name }}-postgres:5432/gpudev
{{- else }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef: {name: {{ required "database.external.existingSecret is required when database.internal.enabled is false" .Values.database.external.existingSecret }}, key: {{ .Values.database.external.key }}}
{{- end }}
{{- end -}}

{{/* No root, no privileges, no writable image. */}}
{{- define "gpudev.podSecurity" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile: {type: RuntimeDefault}
{{- end -}}

{{- define "gpudev.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities: {drop: [ALL]}
{{- end -}}

{{/* The Secret with the chart's PostgreSQL password: the operator's (deploy/tofu makes it), else the chart's. */}}
{{- define "gpudev.postgresSecret" -}}
{{- .Values.database.internal.existingSecret | default (printf "%s-postgres" .Release.Name) -}}
{{- end }}

{{/* The Secret with the SSH proxy's host key: the operator's (deploy/tofu makes it), else the chart's. */}}
{{- define "gpudev.hostKeySecret" -}}
{{- .Values.proxy.hostKey.existingSecret | default (printf "%s-proxy-host-key" .Release.Name) -}}
{{- end }}

{{/* The platform's pods' pull secrets: the operator's, and the chart's own from registryCredentials. */}}
{{- define "gpudev.imagePullSecrets" -}}
{{- $names := list }}
{{- range .Values.imagePullSecrets }}{{ $names = append $names .name }}{{ end }}
{{- if (or .Values.registryCredentials.dockerConfigJson .Values.registryCredentials.dockerConfigJsonBase64) }}{{ $names = append $names "gpudev-registry" }}{{ end }}
{{- if $names }}
imagePullSecrets:
{{- range $names }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Where a part of the platform runs: the control-plane nodes (deploy/tofu labels them), each replica on a node of
its own where it can (a node's loss or drain takes one replica, not all).
*/}}
{{- define "gpudev.placement" -}}
{{- with .root.Values.controlPlane.nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "gpudev.selector" (dict "root" .root "component" .component) | nindent 14 }}
{{- end }}
