"""Protobuf request bodies (typed client-go clients): decoding and the HTTP path."""

from __future__ import annotations

import aiohttp
import pytest

from kubesim.api.protobuf import MAGIC, decode_object
from kubesim.errors import ApiError
from tests.support.kube_http import CM, call


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number: int, payload: bytes | str | int) -> bytes:
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    raw = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(raw)) + raw


def entry(key: str, value: str | bytes) -> bytes:
    return field(1, key) + field(2, value)


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = field(1, api_version) + field(2, kind)
    return (
        MAGIC
        + field(1, type_meta)
        + field(2, raw)
        + field(4, "application/vnd.kubernetes.protobuf")
    )


def configmap_body() -> bytes:
    meta = field(1, "pb") + field(3, "") + field(11, entry("app", "x")) + field(8, field(1, 0))
    return envelope(
        "v1",
        "ConfigMap",
        field(1, meta) + field(2, entry("k", "v")) + field(3, entry("b", b"\x00\x01")),
    )


def test_decode_configmap() -> None:
    obj = decode_object(configmap_body())
    assert obj == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "pb", "labels": {"app": "x"}},  # "" and zero time read as absent
        "data": {"k": "v"},
        "binaryData": {"b": "AAE="},
    }


def test_decode_delete_options() -> None:
    raw = field(4, "Foreground") + field(2, field(1, "uid-1"))
    assert decode_object(envelope("meta.k8s.io/v1", "DeleteOptions", raw)) == {
        "apiVersion": "meta.k8s.io/v1",
        "kind": "DeleteOptions",
        "propagationPolicy": "Foreground",
        "preconditions": {"uid": "uid-1"},
    }


def test_unsupported_kind_is_415_and_garbage_is_400() -> None:
    with pytest.raises(ApiError) as err:
        decode_object(envelope("apps/v1", "StatefulSet", b""))
    assert err.value.code == 415
    with pytest.raises(ApiError) as err:
        decode_object(b"{}")
    assert err.value.code == 400


async def test_create_with_protobuf_body(kube_api: aiohttp.ClientSession) -> None:
    headers = {"Content-Type": "application/vnd.kubernetes.protobuf"}
    async with kube_api.post(CM, data=configmap_body(), headers=headers) as resp:
        assert resp.status == 201
        assert resp.headers["Content-Type"].startswith("application/json")
    got = await call(kube_api, "GET", f"{CM}/pb", status=200)
    assert got["data"] == {"k": "v"}
    assert got["metadata"]["labels"] == {"app": "x"}


def test_decode_deployment_with_int_or_string_and_quantities() -> None:
    container = (
        field(1, "c")
        + field(2, "nginx:1.27")
        + field(8, field(2, entry("cpu", field(1, "100m"))))
        + field(6, field(3, 8080))
    )
    pod_spec = field(2, container)
    template = field(1, field(11, entry("app", "api"))) + field(2, pod_spec)
    strategy = field(1, "RollingUpdate") + field(2, field(2, field(1, 1) + field(3, "50%")))
    spec = (
        field(1, 0)
        + field(2, field(1, entry("app", "api")))
        + field(3, template)
        + field(4, strategy)
    )
    obj = decode_object(
        envelope("apps/v1", "Deployment", field(1, field(1, "api")) + field(2, spec))
    )
    assert obj["spec"]["replicas"] == 0  # a pointer field: an explicit 0 is kept
    assert obj["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "50%"},
    }
    c = obj["spec"]["template"]["spec"]["containers"][0]
    assert c == {
        "name": "c",
        "image": "nginx:1.27",
        "resources": {"requests": {"cpu": "100m"}},
        "ports": [{"containerPort": 8080}],
    }
