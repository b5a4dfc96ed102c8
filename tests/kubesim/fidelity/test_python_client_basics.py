"""Fidelity with the official `kubernetes` Python client (synchronous; run in a thread)."""

from __future__ import annotations

import asyncio

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from kubesim.server import KubeSim


def _core(sim: KubeSim) -> client.CoreV1Api:
    api_client = config.new_client_from_config(config_file=str(sim.kubeconfig_path))
    return client.CoreV1Api(api_client)


def _cm(name: str) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data={"k": "v"})


async def test_list_and_watch_from_resource_version(kubesim: KubeSim) -> None:
    core = _core(kubesim)

    def scenario() -> list[tuple[str, str]]:
        core.create_namespaced_config_map("default", _cm("a"))
        listed = core.list_namespaced_config_map("default")
        assert [c.metadata.name for c in listed.items if c.metadata] == ["a"]
        core.create_namespaced_config_map("default", _cm("b"))
        core.delete_namespaced_config_map("b", "default")
        seen = []
        w = watch.Watch()
        for event in w.stream(
            core.list_namespaced_config_map,
            "default",
            resource_version=listed.metadata.resource_version if listed.metadata else None,
            timeout_seconds=5,
        ):
            seen.append((event["type"], event["object"].metadata.name))
            if len(seen) == 2:
                w.stop()
        return seen

    seen = await asyncio.wait_for(asyncio.to_thread(scenario), 30)
    assert seen == [("ADDED", "b"), ("DELETED", "b")]


async def test_watch_from_compacted_rv_raises_410(kubesim: KubeSim) -> None:
    core = _core(kubesim)
    listed = await asyncio.to_thread(core.list_namespaced_config_map, "default")
    await asyncio.to_thread(core.create_namespaced_config_map, "default", _cm("x"))
    kubesim.faults.compact()

    def watch_old() -> None:
        w = watch.Watch()
        for _ in w.stream(
            core.list_namespaced_config_map,
            "default",
            resource_version=listed.metadata.resource_version if listed.metadata else None,
            timeout_seconds=5,
        ):
            pass

    with pytest.raises(ApiException) as err:
        await asyncio.wait_for(asyncio.to_thread(watch_old), 30)
    assert err.value.status == 410


async def test_not_found_and_conflict_map_to_api_exceptions(kubesim: KubeSim) -> None:
    core = _core(kubesim)
    with pytest.raises(ApiException) as err:
        await asyncio.to_thread(core.read_namespaced_config_map, "nope", "default")
    assert err.value.status == 404
    await asyncio.to_thread(core.create_namespaced_config_map, "default", _cm("dup"))
    with pytest.raises(ApiException) as err:
        await asyncio.to_thread(core.create_namespaced_config_map, "default", _cm("dup"))
    assert err.value.status == 409
