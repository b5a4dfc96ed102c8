"""Decoding Kubernetes protobuf request bodies for the kinds typed clients send.

client-go's typed clients (``kubectl create configmap|secret|namespace``, Helm's
release storage in Secrets) send ``application/vnd.kubernetes.protobuf`` bodies
while accepting JSON answers. kubesim answers in JSON, so it only needs to
*read* protobuf, and only for the kinds those clients write: Secret,
ConfigMap, Namespace, ServiceAccount, Service, Deployment and Job (the fields
``kubectl create`` sets, with full ObjectMeta), plus the DeleteOptions body of
DELETE requests.

Wire format: the magic ``k8s\\x00`` then a ``runtime.Unknown`` message
(1 typeMeta{1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding, 4 contentType);
``raw`` is the typed object, encoded with the field numbers of the
``generated.proto`` files in k8s.io/api and apimachinery. Unknown fields are
skipped, as protobuf readers do. Other kinds are refused with 415 so the
client sees a clear error instead of a garbled object.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from kubesim.errors import ApiError, bad_request

MAGIC = b"k8s\x00"
PROTOBUF = "application/vnd.kubernetes.protobuf"

# A schema maps field number -> (json name, type). Types: "str", "bytes" (base64
# in JSON), "int" (0 = absent), "iptr" (pointer int: 0 kept), "bool" (false =
# absent), "bptr" (pointer bool: false kept), "time", "strs" (repeated string),
# "map" (string -> string), "bmap" (string -> base64 bytes), "qmap" (string ->
# resource.Quantity), "ios" (IntOrString), a nested schema (dict), or
# _Repeated(schema) for a list of messages.
Schema = dict[int, tuple[str, Any]]


class _Repeated:
    def __init__(self, schema: Schema) -> None:
        self.schema = schema


_OWNER_REFERENCE: Schema = {
    1: ("kind", "str"),
    3: ("name", "str"),
    4: ("uid", "str"),
    5: ("apiVersion", "str"),
    6: ("controller", "bool"),
    7: ("blockOwnerDeletion", "bool"),
}
_OBJECT_META: Schema = {
    1: ("name", "str"),
    2: ("generateName", "str"),
    3: ("namespace", "str"),
    5: ("uid", "str"),
    6: ("resourceVersion", "str"),
    7: ("generation", "int"),
    8: ("creationTimestamp", "time"),
    9: ("deletionTimestamp", "time"),
    10: ("deletionGracePeriodSeconds", "int"),
    11: ("labels", "map"),
    12: ("annotations", "map"),
    13: ("ownerReferences", _Repeated(_OWNER_REFERENCE)),
    14: ("finalizers", "strs"),
}
_OBJECT_REFERENCE: Schema = {
    1: ("kind", "str"),
    2: ("namespace", "str"),
    3: ("name", "str"),
    4: ("uid", "str"),
    5: ("apiVersion", "str"),
}
_LOCAL_OBJECT_REFERENCE: Schema = {1: ("name", "str")}

_LABEL_SELECTOR: Schema = {
    1: ("matchLabels", "map"),
    2: (
        "matchExpressions",
        _Repeated({1: ("key", "str"), 2: ("operator", "str"), 3: ("values", "strs")}),
    ),
}
_CONTAINER: Schema = {
    1: ("name", "str"),
    2: ("image", "str"),
    3: ("command", "strs"),
    4: ("args", "strs"),
    5: ("workingDir", "str"),
    6: (
        "ports",
        _Repeated(
            {
                1: ("name", "str"),
                2: ("hostPort", "int"),
                3: ("containerPort", "int"),
                4: ("protocol", "str"),
                5: ("hostIP", "str"),
            }
        ),
    ),
    7: ("env", _Repeated({1: ("name", "str"), 2: ("value", "str")})),
    8: ("resources", {1: ("limits", "qmap"), 2: ("requests", "qmap")}),
    13: ("terminationMessagePath", "str"),
    14: ("imagePullPolicy", "str"),
    16: ("stdin", "bool"),
    17: ("stdinOnce", "bool"),
    18: ("tty", "bool"),
    20: ("terminationMessagePolicy", "str"),
}
_POD_SPEC: Schema = {
    2: ("containers", _Repeated(_CONTAINER)),
    3: ("restartPolicy", "str"),
    4: ("terminationGracePeriodSeconds", "iptr"),
    5: ("activeDeadlineSeconds", "iptr"),
    6: ("dnsPolicy", "str"),
    7: ("nodeSelector", "map"),
    8: ("serviceAccountName", "str"),
    10: ("nodeName", "str"),
    11: ("hostNetwork", "bool"),
    16: ("hostname", "str"),
    17: ("subdomain", "str"),
    19: ("schedulerName", "str"),
    20: ("initContainers", _Repeated(_CONTAINER)),
    21: ("automountServiceAccountToken", "bptr"),
}
_POD_TEMPLATE: Schema = {1: ("metadata", _OBJECT_META), 2: ("spec", _POD_SPEC)}
_DEPLOYMENT_SPEC: Schema = {
    1: ("replicas", "iptr"),
    2: ("selector", _LABEL_SELECTOR),
    3: ("template", _POD_TEMPLATE),
    4: (
        "strategy",
        {
            1: ("type", "str"),
            2: ("rollingUpdate", {1: ("maxUnavailable", "ios"), 2: ("maxSurge", "ios")}),
        },
    ),
    5: ("minReadySeconds", "int"),
    6: ("revisionHistoryLimit", "iptr"),
    7: ("paused", "bool"),
    9: ("progressDeadlineSeconds", "iptr"),
}
_JOB_SPEC: Schema = {
    1: ("parallelism", "iptr"),
    2: ("completions", "iptr"),
    3: ("activeDeadlineSeconds", "iptr"),
    4: ("selector", _LABEL_SELECTOR),
    5: ("manualSelector", "bptr"),
    6: ("template", _POD_TEMPLATE),
    7: ("backoffLimit", "iptr"),
    8: ("ttlSecondsAfterFinished", "iptr"),
    9: ("completionMode", "str"),
    10: ("suspend", "bptr"),
}
_SERVICE_SPEC: Schema = {
    1: (
        "ports",
        _Repeated(
            {
                1: ("name", "str"),
                2: ("protocol", "str"),
                3: ("port", "int"),
                4: ("targetPort", "ios"),
                5: ("nodePort", "int"),
                6: ("appProtocol", "str"),
            }
        ),
    ),
    2: ("selector", "map"),
    3: ("clusterIP", "str"),
    4: ("type", "str"),
    5: ("externalIPs", "strs"),
    7: ("sessionAffinity", "str"),
    10: ("externalName", "str"),
}

_DELETE_OPTIONS: Schema = {
    1: ("gracePeriodSeconds", "int"),
    2: ("preconditions", {1: ("uid", "str"), 2: ("resourceVersion", "str")}),
    3: ("orphanDependents", "bool"),
    4: ("propagationPolicy", "str"),
    5: ("dryRun", "strs"),
}

KIND_SCHEMAS: dict[tuple[str, str], Schema] = {
    ("meta.k8s.io/v1", "DeleteOptions"): _DELETE_OPTIONS,
    ("v1", "DeleteOptions"): _DELETE_OPTIONS,
    ("v1", "Secret"): {
        1: ("metadata", _OBJECT_META),
        2: ("data", "bmap"),
        3: ("type", "str"),
        4: ("stringData", "map"),
        5: ("immutable", "bool"),
    },
    ("v1", "ConfigMap"): {
        1: ("metadata", _OBJECT_META),
        2: ("data", "map"),
        3: ("binaryData", "bmap"),
        4: ("immutable", "bool"),
    },
    ("v1", "Namespace"): {
        1: ("metadata", _OBJECT_META),
        2: ("spec", {1: ("finalizers", "strs")}),
    },
    ("apps/v1", "Deployment"): {1: ("metadata", _OBJECT_META), 2: ("spec", _DEPLOYMENT_SPEC)},
    ("batch/v1", "Job"): {1: ("metadata", _OBJECT_META), 2: ("spec", _JOB_SPEC)},
    ("v1", "Service"): {1: ("metadata", _OBJECT_META), 2: ("spec", _SERVICE_SPEC)},
    ("v1", "ServiceAccount"): {
        1: ("metadata", _OBJECT_META),
        2: ("secrets", _Repeated(_OBJECT_REFERENCE)),
        3: ("imagePullSecrets", _Repeated(_LOCAL_OBJECT_REFERENCE)),
        4: ("automountServiceAccountToken", "bool"),
    },
}


class _Reader:
    """Protobuf wire-format reader over one message's bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def varint(self) -> int:
        result = shift = 0
        while True:
            if self.pos >= len(self.data):
                raise bad_request("malformed protobuf body: truncated varint")
            byte = self.data[self.pos]
            self.pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7

    def fields(self) -> list[tuple[int, int, Any]]:
        """(field number, wire type, value) for every field, in order."""
        out: list[tuple[int, int, Any]] = []
        while self.pos < len(self.data):
            key = self.varint()
            number, wire = key >> 3, key & 7
            value: Any
            if wire == 0:
                value = self.varint()
            elif wire == 2:
                length = self.varint()
                value = self.data[self.pos : self.pos + length]
                if len(value) != length:
                    raise bad_request("malformed protobuf body: truncated field")
                self.pos += length
            elif wire == 1:
                value = self.data[self.pos : self.pos + 8]
                self.pos += 8
            elif wire == 5:
                value = self.data[self.pos : self.pos + 4]
                self.pos += 4
            else:
                raise bad_request(f"malformed protobuf body: wire type {wire}")
            out.append((number, wire, value))
        return out


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _time(raw: bytes) -> str | None:
    seconds = 0
    for number, _wire, value in _Reader(raw).fields():
        if number == 1:
            seconds = _signed(value)
    if seconds <= 0:  # the zero time (year 1) means "unset"
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _map_entry(raw: bytes) -> tuple[str, bytes]:
    key, value = "", b""
    for number, _wire, field in _Reader(raw).fields():
        if number == 1:
            key = field.decode()
        elif number == 2:
            value = field
    return key, value


def _int_or_string(raw: bytes) -> int | str:
    """intstr.IntOrString: 1 type (0 int, 1 string), 2 intVal, 3 strVal."""
    is_string, int_val, str_val = 0, 0, ""
    for number, _wire, value in _Reader(raw).fields():
        if number == 1:
            is_string = value
        elif number == 2:
            int_val = _signed(value)
        elif number == 3:
            str_val = value.decode()
    return str_val if is_string else int_val


def decode_message(raw: bytes, schema: Schema) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for number, _wire, value in _Reader(raw).fields():
        spec = schema.get(number)
        if spec is None:
            continue  # unknown or unsupported field: skipped, as protobuf readers do
        name, kind = spec
        # gogo-protobuf always writes non-pointer scalars; JSON omits empty ones
        # (omitempty), so "", 0 and the zero time read as "absent".
        if kind == "str":
            if value:
                obj[name] = value.decode()
        elif kind == "bytes":
            obj[name] = base64.b64encode(value).decode()
        elif kind == "int":
            if value:
                obj[name] = _signed(value)
        elif kind == "iptr":
            obj[name] = _signed(value)
        elif kind == "bool":
            if value:
                obj[name] = True
        elif kind == "bptr":
            obj[name] = bool(value)
        elif kind == "ios":
            obj[name] = _int_or_string(value)
        elif kind == "qmap":
            key, item = _map_entry(value)
            quantity = decode_message(item, {1: ("string", "str")})
            obj.setdefault(name, {})[key] = quantity.get("string", "0")
        elif kind == "time":
            stamp = _time(value)
            if stamp is not None:
                obj[name] = stamp
        elif kind == "strs":
            obj.setdefault(name, []).append(value.decode())
        elif kind == "map":
            key, item = _map_entry(value)
            obj.setdefault(name, {})[key] = item.decode()
        elif kind == "bmap":
            key, item = _map_entry(value)
            obj.setdefault(name, {})[key] = base64.b64encode(item).decode()
        elif isinstance(kind, _Repeated):
            obj.setdefault(name, []).append(decode_message(value, kind.schema))
        elif isinstance(kind, dict):
            obj[name] = decode_message(value, kind)
    return obj


def decode_object(body: bytes) -> dict[str, Any]:
    """The JSON form of a protobuf-encoded object; 415 for kinds kubesim cannot read."""
    if not body.startswith(MAGIC):
        raise bad_request("malformed protobuf body: missing the k8s envelope")
    api_version = kind = ""
    raw = b""
    for number, _wire, value in _Reader(body[len(MAGIC) :]).fields():
        if number == 1:
            for sub, _w, field in _Reader(value).fields():
                if sub == 1:
                    api_version = field.decode()
                elif sub == 2:
                    kind = field.decode()
        elif number == 2:
            raw = value
    schema = KIND_SCHEMAS.get((api_version, kind))
    if schema is None:
        raise ApiError(
            "UnsupportedMediaType",
            f"kubesim cannot decode {PROTOBUF} for {api_version}/{kind}; send application/json",
        )
    obj = decode_message(raw, schema)
    return {"apiVersion": api_version, "kind": kind, **obj}
