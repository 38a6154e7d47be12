{{/* Names, labels and shared pod pieces. */}}

{{- define "recotem.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "recotem.fullname" -}}
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

{{- define "recotem.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "recotem.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* selectorLabels: pass (dict "ctx" $ "component" "serve"). */}}
{{- define "recotem.selectorLabels" -}}
app.kubernetes.io/name: {{ include "recotem.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "recotem.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "recotem.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "recotem.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "recotem.pvcName" -}}
{{- default (printf "%s-artifacts" (include "recotem.fullname" .)) .Values.artifacts.pvc.existingClaim -}}
{{- end -}}

{{/* Memory per serve pod from the runbook's formula, in Mi. */}}
{{- define "recotem.serveMemory" -}}
{{- $s := .Values.serve.sizing -}}
{{- $n := int $s.recipes -}}
{{- if eq $n 0 }}{{ $n = len .Values.recipes }}{{ end -}}
{{- $per := add (int $s.avgArtifactMiB) (int $s.avgMetadataMiB) (int $s.resultCacheMiB) -}}
{{- printf "%dMi" (add (mul $per $n) (int $s.overheadMiB)) -}}
{{- end -}}

{{/* Serve resources: the given ones, memory filled in from the formula. */}}
{{- define "recotem.serveResources" -}}
{{- $r := deepCopy .Values.serve.resources -}}
{{- $mem := include "recotem.serveMemory" . -}}
{{- $req := default dict $r.requests -}}
{{- $lim := default dict $r.limits -}}
{{- if not (hasKey $req "memory") }}{{ $_ := set $req "memory" (default $mem $lim.memory) }}{{ end -}}
{{- if not (hasKey $lim "memory") }}{{ $_ := set $lim "memory" $mem }}{{ end -}}
{{- toYaml (dict "requests" $req "limits" $lim) -}}
{{- end -}}

{{- define "recotem.allowedHosts" -}}
{{- if .Values.serve.allowedHosts -}}
{{- join "," .Values.serve.allowedHosts -}}
{{- else -}}
{{- $svc := include "recotem.fullname" . -}}
{{- $ns := .Release.Namespace -}}
{{- printf "%s,%s.%s,%s.%s.svc,%s.%s.svc.%s,localhost,127.0.0.1" $svc $svc $ns $svc $ns $svc $ns .Values.serve.clusterDomain -}}
{{- end -}}
{{- end -}}

{{/* Environment shared by serve and train: keys and object-store settings. */}}
{{- define "recotem.keyEnv" -}}
- name: RECOTEM_SIGNING_KEYS
  valueFrom:
    secretKeyRef:
      name: {{ required "keys.signing.secretName is required" .Values.keys.signing.secretName }}
      key: {{ .Values.keys.signing.secretKey }}
{{- end -}}

{{- define "recotem.objectStoreEnvFrom" -}}
{{- if .Values.objectStore.credentialsSecret }}
- secretRef:
    name: {{ .Values.objectStore.credentialsSecret }}
{{- end }}
{{- end -}}

{{/* Volumes: recipes ConfigMap, artifacts PVC (or an emptyDir working dir), /tmp. */}}
{{- define "recotem.volumes" -}}
- name: recipes
  configMap:
    name: {{ include "recotem.fullname" . }}-recipes
- name: data
{{- if .Values.artifacts.pvc.enabled }}
  persistentVolumeClaim:
    claimName: {{ include "recotem.pvcName" . }}
{{- else }}
  emptyDir: {}
{{- end }}
- name: tmp
  emptyDir: {}
{{- end -}}

{{- define "recotem.volumeMounts" -}}
- name: recipes
  mountPath: /recipes
  readOnly: true
- name: data
  mountPath: /data
- name: tmp
  mountPath: /tmp
{{- end -}}
