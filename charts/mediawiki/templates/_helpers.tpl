{{/*
Names. Catalyst's release names are DNS-1123 labels of at most 53 characters, and every
object is named from the release name. Suffixed names are cut so that the names real
controllers derive from them stay valid: a StatefulSet name longer than 52 characters makes
its controller-revision-hash label exceed 63 characters.
*/}}
{{- define "mediawiki.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mediawiki.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 53 | trimSuffix "-" -}}
{{- end -}}

{{- define "mediawiki.dbName" -}}
{{- printf "%s-db" (include "mediawiki.fullname" . | trunc 49 | trimSuffix "-") -}}
{{- end -}}

{{- define "mediawiki.codeClaimName" -}}
{{- printf "%s-code" (include "mediawiki.fullname" .) -}}
{{- end -}}

{{- define "mediawiki.installName" -}}
{{- printf "%s-install" (include "mediawiki.fullname" . | trunc 46 | trimSuffix "-") -}}
{{- end -}}

{{- define "mediawiki.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Labels on every object. managed-by is left to the deployer (Catalyst stamps its own).
Every scalar these helpers print is quoted: a value can never add keys or documents.
*/}}
{{- define "mediawiki.labels" -}}
helm.sh/chart: {{ include "mediawiki.chart" . | quote }}
{{ include "mediawiki.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: mediawiki
{{- end -}}

{{- define "mediawiki.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mediawiki.name" . | quote }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end -}}

{{/*
Component labels: call with (dict "ctx" $ "component" "web").
*/}}
{{- define "mediawiki.componentLabels" -}}
{{ include "mediawiki.labels" .ctx }}
app.kubernetes.io/component: {{ .component | quote }}
{{- end -}}

{{- define "mediawiki.componentSelectorLabels" -}}
{{ include "mediawiki.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component | quote }}
{{- end -}}

{{/*
Pod template metadata shared by every workload: the component's labels plus the user's
podLabels and podAnnotations. Call with (dict "ctx" $ "component" "web" "annotations" (dict ...)).
*/}}
{{- define "mediawiki.podMetadata" -}}
labels:
  {{- include "mediawiki.componentLabels" (dict "ctx" .ctx "component" .component) | nindent 2 }}
  {{- with .ctx.Values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- $annotations := merge (dict) (.annotations | default (dict)) (.ctx.Values.podAnnotations | default (dict)) }}
{{- with $annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
Image reference of a component: call with (dict "ctx" $ "image" .Values.web.image).
An empty tag means the chart's appVersion.
*/}}
{{- define "mediawiki.image" -}}
{{- printf "%s:%s" .image.repository (default .ctx.Chart.AppVersion (toString (.image.tag | default ""))) -}}
{{- end -}}

{{/*
Container resources of a component: its own, else the top-level default.
Call with (dict "ctx" $ "resources" .Values.web.resources).
*/}}
{{- define "mediawiki.resources" -}}
{{- $resources := .resources | default .ctx.Values.resources | default (dict) -}}
{{- if $resources -}}
resources:
  {{- toYaml $resources | nindent 2 }}
{{- end -}}
{{- end -}}

{{/*
Truthiness of a value that may be a JSON boolean or a string ("true"/"false", also
"1"/"0", "yes"/"no", "on"/"off"). Renders "true" or nothing, so use it as
  {{ if include "mediawiki.truthy" $value }}
Numbers are true unless zero; null and anything else are false.
*/}}
{{- define "mediawiki.truthy" -}}
{{- $v := . -}}
{{- if kindIs "bool" $v -}}
{{- if $v }}true{{ end -}}
{{- else if kindIs "string" $v -}}
{{- if has (lower (trim $v)) (list "true" "1" "yes" "on" "y") }}true{{ end -}}
{{- else if or (kindIs "float64" $v) (kindIs "int" $v) (kindIs "int64" $v) -}}
{{- if ne (toString $v) "0" }}true{{ end -}}
{{- end -}}
{{- end -}}

{{/* "true"/"false" for a PHP literal or an environment variable. */}}
{{- define "mediawiki.bool" -}}
{{- if include "mediawiki.truthy" . }}true{{ else }}false{{ end -}}
{{- end -}}

{{/*
Whether one component entry is enabled: `use` wins when present (it is never in the
defaults, so its presence means a client said it), then `enable`, else enabled because it
was listed.
*/}}
{{- define "mediawiki.componentEnabled" -}}
{{- if hasKey . "use" -}}
{{- include "mediawiki.truthy" .use -}}
{{- else if hasKey . "enable" -}}
{{- include "mediawiki.truthy" .enable -}}
{{- else -}}
true
{{- end -}}
{{- end -}}

{{/*
Patch refs of a patch list: entries are {ref, base, hash} objects or plain ref strings.
Renders a JSON object {"refs": [...]} (templates can only return strings).
*/}}
{{- define "mediawiki.patchRefs" -}}
{{- $refs := list -}}
{{- range (. | default list) -}}
{{- if kindIs "map" . -}}
{{- with .ref }}{{ $refs = append $refs (toString .) }}{{ end -}}
{{- else if kindIs "string" . -}}
{{- if . }}{{ $refs = append $refs . }}{{ end -}}
{{- end -}}
{{- end -}}
{{- dict "refs" $refs | toJson -}}
{{- end -}}

{{/*
The enabled components of one kind, normalised from either request shape.
Call with (dict "ctx" $ "items" .Values.extensions "kind" "extension").
Renders JSON {"items": [{name, branch, repository, path, load, submodules, patches}]},
sorted by name (maps are iterated in key order; arrays keep the client's order).
*/}}
{{- define "mediawiki.components" -}}
{{- $ctx := .ctx -}}
{{- $kind := .kind -}}
{{- $entries := list -}}
{{- if kindIs "map" .items -}}
{{- range $name, $entry := .items -}}
{{- $e := $entry | default (dict) -}}
{{- if kindIs "map" $e -}}
{{- $entries = append $entries (merge (dict "name" $name) $e) -}}
{{- else -}}
{{- /* {Echo: true} or {Echo: "true"}: a bare flag. */ -}}
{{- $entries = append $entries (dict "name" $name "enable" $e) -}}
{{- end -}}
{{- end -}}
{{- else if kindIs "slice" .items -}}
{{- range .items -}}
{{- if kindIs "map" . -}}
{{- $entries = append $entries . -}}
{{- else if kindIs "string" . -}}
{{- $entries = append $entries (dict "name" .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $out := list -}}
{{- range $entries -}}
{{- if and .name (include "mediawiki.componentEnabled" .) -}}
{{- $name := toString .name -}}
{{- $repo := "" -}}{{- $path := "" -}}{{- $load := $kind -}}{{- $submodules := false -}}
{{- if eq $kind "extension" -}}
{{- $repo = printf "mediawiki/extensions/%s" $name -}}{{- $path = printf "extensions/%s" $name -}}
{{- else if eq $kind "skin" -}}
{{- $repo = printf "mediawiki/skins/%s" $name -}}{{- $path = printf "skins/%s" $name -}}
{{- else -}}
{{- $known := get ($ctx.Values.moduleRepositories | default (dict)) $name | default (dict) -}}
{{- $repo = $known.repository | default (printf "mediawiki/extensions/%s" $name) -}}
{{- $path = $known.path | default (printf "extensions/%s" $name) -}}
{{- $load = $known.load | default "extension" -}}
{{- $submodules = include "mediawiki.truthy" $known.submodules | eq "true" -}}
{{- end -}}
{{- $repo = .repository | default $repo -}}
{{- $path = .path | default $path -}}
{{- $patches := (include "mediawiki.patchRefs" .patches | fromJson).refs -}}
{{- $out = append $out (dict "name" $name "branch" (toString (.branch | default "master")) "repository" $repo "path" $path "load" $load "submodules" $submodules "patches" $patches) -}}
{{- end -}}
{{- end -}}
{{- dict "items" $out | toJson -}}
{{- end -}}

{{/*
Every repository the install checks out, core first: JSON {"items": [...]} like above.
*/}}
{{- define "mediawiki.repositories" -}}
{{- $core := dict "name" "core" "branch" (toString (.Values.mediawikiCore.branch | default "master")) "repository" "mediawiki/core" "path" "." "load" "none" "submodules" false "patches" (include "mediawiki.patchRefs" .Values.mediawikiCore.patches | fromJson).refs -}}
{{- $all := list $core -}}
{{- range $kind, $items := dict "extension" .Values.extensions "skin" .Values.skins "module" .Values.otherModules -}}
{{- $all = concat $all (include "mediawiki.components" (dict "ctx" $ "items" $items "kind" $kind) | fromJson).items -}}
{{- end -}}
{{- dict "items" $all | toJson -}}
{{- end -}}

{{/* Passwords: the admin's from the values, the database's given or derived. */}}
{{- define "mediawiki.dbPassword" -}}
{{- if .Values.database.password -}}
{{- toString .Values.database.password -}}
{{- else -}}
{{- printf "db:%s:%s" .Release.Namespace .Release.Name | sha256sum | trunc 32 -}}
{{- end -}}
{{- end -}}

{{- define "mediawiki.dbRootPassword" -}}
{{- printf "root:%s" (include "mediawiki.dbPassword" .) | sha256sum | trunc 32 -}}
{{- end -}}

{{- define "mediawiki.serverUrl" -}}
{{- with .Values.mediawikiCore.ingress -}}
{{- if $.Values.ingress.tlsSecretName }}https{{ else }}http{{ end }}://{{ . }}
{{- else -}}
http://{{ include "mediawiki.fullname" . }}
{{- end -}}
{{- end -}}
