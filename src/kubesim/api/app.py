"""The aiohttp application: routing, error rendering and fault gates.

Request flow: ``errors`` middleware (every failure becomes a Status; unknown
exceptions become 500 InternalError and are logged) → ``faults`` middleware
(``/kubesim/*`` always passes; otherwise paused → 503, throttled non-watch
request → 429 with ``Retry-After: 1`` and a plain-text body) → handler.

All Kubernetes API paths go through one dispatcher that parses the path
itself, because the apiserver's path grammar (optional ``/watch``, optional
``/namespaces/{ns}``, namespace subresources) does not fit a route table.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from kubesim.api import crud, discovery, openapi
from kubesim.api.context import CONTEXT_KEY, ApiContext, context_of
from kubesim.api.control import add_control_routes
from kubesim.api.logs import pod_logs
from kubesim.api.params import flag
from kubesim.api.responses import error_response, json_response
from kubesim.api.targets import Target, parse_target, resource_not_found
from kubesim.api.watching import watch_stream
from kubesim.errors import ApiError, method_not_allowed

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
TOO_MANY_REQUESTS_BODY = "Too many requests, please try again later.\n"
CONTROL_PREFIX = "/kubesim/"


def is_watch_request(request: web.Request) -> bool:
    path = request.path
    return flag(request.query, "watch") or "/watch/" in path or path.endswith("/watch")


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc)
    except web.HTTPNotFound:
        return error_response(resource_not_found())
    except web.HTTPMethodNotAllowed:
        return error_response(method_not_allowed())
    except web.HTTPException:
        raise
    except Exception as exc:
        log.exception("internal error on %s %s", request.method, request.path_qs)
        return error_response(ApiError("InternalError", f"Internal error occurred: {exc}"))


@web.middleware
async def faults_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    faults = context_of(request).faults
    if faults.paused:
        raise ApiError("ServiceUnavailable", "the server is currently unable to handle the request")
    if not is_watch_request(request) and not faults.admit():
        return web.Response(
            status=429,
            text=TOO_MANY_REQUESTS_BODY,
            content_type="text/plain",
            headers={
                "Retry-After": "1",
                "X-Kubernetes-PF-FlowSchema-UID": "kubesim-throttle",
                "X-Kubernetes-PF-PriorityLevel-UID": "kubesim-throttle",
            },
        )
    return await handler(request)


# ------------------------------------------------------------- non-resource


async def version(request: web.Request) -> web.Response:
    return json_response(discovery.KUBERNETES_VERSION)


async def health(request: web.Request) -> web.Response:
    return web.Response(text="ok", content_type="text/plain")


async def openapi_v2(request: web.Request) -> web.Response:
    accept = request.headers.get("Accept", "")
    if accept and "json" not in accept and "*/*" not in accept:
        raise ApiError("NotAcceptable", "only application/json is supported for /openapi/v2")
    return json_response(openapi.v2_document(context_of(request).registry))


async def openapi_v3_root(request: web.Request) -> web.Response:
    return json_response(openapi.v3_root(context_of(request).registry))


async def openapi_v3_group_version(request: web.Request) -> web.Response:
    registry = context_of(request).registry
    parts = request.match_info["gv"].strip("/").split("/")
    if parts[0] == "api" and len(parts) == 2:
        body = openapi.v3_group_version(registry, "", parts[1])
    elif parts[0] == "apis" and len(parts) == 3:
        body = openapi.v3_group_version(registry, parts[1], parts[2])
    else:
        raise resource_not_found()
    return web.Response(body=body, content_type="application/json")


# ------------------------------------------------------------------ the API


def _count(ctx: ApiContext, verb: str, resource: str) -> None:
    ctx.faults.count(verb, resource)


async def dispatch(request: web.Request) -> web.StreamResponse:
    ctx = context_of(request)
    registry = ctx.registry
    parts = [p for p in request.path.split("/") if p != ""]
    if not parts:
        raise resource_not_found()
    if parts[0] == "api":
        if len(parts) == 1:
            _count(ctx, "get", "discovery")
            return _only_get(request, discovery.api_versions())
        if parts[1] != "v1":
            raise resource_not_found()
        if len(parts) == 2:
            _count(ctx, "get", "discovery")
            return _only_get(request, discovery.api_resource_list(registry, "", "v1"))
        target = parse_target(registry, "", "v1", parts[2:])
        return await _resource_request(ctx, request, target)
    if parts[0] == "apis":
        if len(parts) == 1:
            _count(ctx, "get", "discovery")
            return _only_get(request, discovery.api_group_list(registry))
        if len(parts) == 2:
            _count(ctx, "get", "discovery")
            return _only_get(request, discovery.api_group(registry, parts[1]))
        if len(parts) == 3:
            _count(ctx, "get", "discovery")
            return _only_get(request, discovery.api_resource_list(registry, parts[1], parts[2]))
        target = parse_target(registry, parts[1], parts[2], parts[3:])
        return await _resource_request(ctx, request, target)
    raise resource_not_found()


def _only_get(request: web.Request, body: object) -> web.Response:
    if request.method not in ("GET", "HEAD"):
        raise method_not_allowed()
    return json_response(body)


async def _resource_request(
    ctx: ApiContext, request: web.Request, target: Target
) -> web.StreamResponse:
    method = request.method
    label = target.resource_label
    if method == "GET":
        if target.subresource == "log":
            _count(ctx, "get", label)
            return await pod_logs(ctx, target, request)
        if target.legacy_watch or flag(request.query, "watch"):
            if target.subresource:
                raise method_not_allowed()
            _count(ctx, "watch", label)
            return await watch_stream(ctx, target, request)
        if target.name is not None:
            _count(ctx, "get", label)
            return await crud.get_item(ctx, target, request)
        _count(ctx, "list", label)
        return await crud.list_items(ctx, target, request)
    if target.legacy_watch:
        raise method_not_allowed()
    if method == "POST":
        if target.name is not None:
            raise method_not_allowed()
        _count(ctx, "create", label)
        return await crud.create_item(ctx, target, request)
    if target.subresource == "log":
        raise method_not_allowed()
    if method == "PUT" and target.name is not None:
        _count(ctx, "update", label)
        return await crud.update_item(ctx, target, request)
    if method == "PATCH" and target.name is not None and target.subresource != "finalize":
        _count(ctx, "patch", label)
        return await crud.patch_item(ctx, target, request)
    if method == "DELETE" and target.subresource is None:
        if target.name is not None:
            _count(ctx, "delete", label)
            return await crud.delete_item(ctx, target, request)
        _count(ctx, "deletecollection", label)
        return await crud.delete_collection(ctx, target, request)
    raise method_not_allowed()


def build_app(ctx: ApiContext) -> web.Application:
    app = web.Application(
        middlewares=[errors_middleware, faults_middleware], client_max_size=16 * 1024**2
    )
    app[CONTEXT_KEY] = ctx
    add_control_routes(app)
    app.router.add_get("/version", version)
    for path in ("/healthz", "/readyz", "/livez"):
        app.router.add_get(path, health)
    app.router.add_get("/openapi/v2", openapi_v2)
    app.router.add_get("/openapi/v3", openapi_v3_root)
    app.router.add_get("/openapi/v3/{gv:.+}", openapi_v3_group_version)
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app
