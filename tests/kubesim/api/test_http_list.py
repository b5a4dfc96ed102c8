"""LIST: selectors, limit/continue consistency and RV rules (B2, B6, B10-B12)."""

from __future__ import annotations

import aiohttp

from kubesim.server import KubeSim
from tests.support.kube_http import CM, call, configmap


async def _seed(kube_api: aiohttp.ClientSession, n: int) -> None:
    for i in range(n):
        await call(
            kube_api,
            "POST",
            CM,
            configmap(f"cm-{i:02d}", labels={"parity": "even" if i % 2 == 0 else "odd"}),
            status=201,
        )


async def test_label_and_field_selectors(kube_api: aiohttp.ClientSession) -> None:
    await _seed(kube_api, 4)
    odd = await call(kube_api, "GET", CM, params={"labelSelector": "parity in (odd)"}, status=200)
    assert [o["metadata"]["name"] for o in odd["items"]] == ["cm-01", "cm-03"]
    one = await call(
        kube_api,
        "GET",
        "/api/v1/configmaps",
        params={"fieldSelector": "metadata.name=cm-02"},
        status=200,
    )
    assert [o["metadata"]["name"] for o in one["items"]] == ["cm-02"]
    bad = await call(kube_api, "GET", CM, params={"fieldSelector": "foo.bar=x"}, status=400)
    assert bad["reason"] == "BadRequest"
    assert '"foo.bar" is not a known field selector' in bad["message"]
    await call(kube_api, "GET", CM, params={"labelSelector": "a in (b"}, status=400)


async def test_pages_are_consistent_at_the_first_pages_rv(kube_api: aiohttp.ClientSession) -> None:
    await _seed(kube_api, 5)
    page1 = await call(kube_api, "GET", CM, params={"limit": "2"}, status=200)
    list_rv = page1["metadata"]["resourceVersion"]
    assert page1["metadata"]["remainingItemCount"] == 3
    # changes after the first page do not show up in later pages
    await call(kube_api, "DELETE", f"{CM}/cm-03", status=200)
    await call(kube_api, "POST", CM, configmap("cm-99"), status=201)
    names = [o["metadata"]["name"] for o in page1["items"]]
    token = page1["metadata"]["continue"]
    while token:
        page = await call(kube_api, "GET", CM, params={"limit": "2", "continue": token}, status=200)
        assert page["metadata"]["resourceVersion"] == list_rv
        names += [o["metadata"]["name"] for o in page["items"]]
        token = page["metadata"].get("continue")
    assert names == [f"cm-{i:02d}" for i in range(5)]


async def test_expired_continue_token_is_410_with_inconsistent_token(
    kubesim: KubeSim, kube_api
) -> None:
    await _seed(kube_api, 3)
    page1 = await call(kube_api, "GET", CM, params={"limit": "1"}, status=200)
    await call(kube_api, "POST", CM, configmap("later"), status=201)
    await call(kube_api, "POST", "/kubesim/compact", status=200)
    expired = await call(
        kube_api,
        "GET",
        CM,
        params={"limit": "1", "continue": page1["metadata"]["continue"]},
        status=410,
    )
    assert expired["reason"] == "Expired"
    assert expired["message"].startswith("The provided continue parameter is too old")
    resumed = await call(
        kube_api, "GET", CM, params={"continue": expired["metadata"]["continue"]}, status=200
    )
    assert [o["metadata"]["name"] for o in resumed["items"]] == ["cm-01", "cm-02", "later"]


async def test_resource_version_rules(kubesim: KubeSim, kube_api) -> None:
    await _seed(kube_api, 2)
    rv = kubesim.store.current_rv
    too_large = await call(
        kube_api, "GET", CM, params={"resourceVersion": str(rv + 100)}, status=504
    )
    assert too_large["reason"] == "Timeout"
    assert too_large["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"
    assert too_large["details"]["retryAfterSeconds"] == 1
    assert too_large["message"] == f"Too large resource version: {rv + 100}, current: {rv}"
    await call(
        kube_api, "GET", f"{CM}/cm-00", params={"resourceVersion": str(rv + 100)}, status=504
    )
    await call(kube_api, "GET", CM, params={"resourceVersionMatch": "NotOlderThan"}, status=422)
    await call(
        kube_api,
        "GET",
        CM,
        params={"resourceVersionMatch": "Exact", "resourceVersion": "0"},
        status=422,
    )
    await call(kube_api, "GET", CM, params={"continue": "x", "resourceVersion": "5"}, status=400)
    await call(kube_api, "GET", CM, params={"sendInitialEvents": "true"}, status=422)
    # Exact at an older RV serves that snapshot
    await call(kube_api, "DELETE", f"{CM}/cm-00", status=200)
    exact = await call(
        kube_api,
        "GET",
        CM,
        params={"resourceVersionMatch": "Exact", "resourceVersion": str(rv)},
        status=200,
    )
    assert exact["metadata"]["resourceVersion"] == str(rv)
    assert [o["metadata"]["name"] for o in exact["items"]] == ["cm-00", "cm-01"]
    latest = await call(kube_api, "GET", CM, params={"resourceVersion": "0"}, status=200)
    assert [o["metadata"]["name"] for o in latest["items"]] == ["cm-01"]
    await call(kube_api, "POST", "/kubesim/compact", status=200)
    await call(
        kube_api,
        "GET",
        CM,
        params={"resourceVersionMatch": "Exact", "resourceVersion": str(rv)},
        status=410,
    )
