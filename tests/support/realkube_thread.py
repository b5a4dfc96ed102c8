"""realkube for tests: one cluster per session, on an event loop of its own thread.

The cluster's in-process parts (pod tracker, log writer, the node's kubelet endpoint) must
keep running while any test runs, whatever event loop that test uses, so
:class:`RealKubeThread` runs :class:`realkube.RealKube` on a private loop in a daemon thread.
Tests talk to it only as clients do (kubectl, Helm, Python clients, Catalyst), and may run
coroutines on its loop with :meth:`RealKubeThread.call` (e.g. namespace set-up with the
cluster's own client). Start and stop are bounded; a start failure raises with the failing
component's log.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Coroutine, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from realkube import RealKube
from realkube.client import ApiStatusError, KubeClient

T = TypeVar("T")

START_TIMEOUT = 240.0
STOP_TIMEOUT = 60.0
NAMESPACE_READY_TIMEOUT = 30.0
EMBEDDED_RULES = Path(__file__).resolve().parents[2] / "src/catalyst/embedded/kubesim-rules.yaml"

_names = itertools.count(1)


class RealKubeThread:
    def __init__(
        self,
        kubeconfig: Path,
        data_dir: Path,
        rules: Path | None = EMBEDDED_RULES,
        apiserver_flags: Sequence[str] = (),
    ):
        self.cluster = RealKube(
            kubeconfig,
            data_dir=data_dir,
            rules=rules,
            start_timeout=START_TIMEOUT,
            apiserver_flags=apiserver_flags,
        )
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="realkube", daemon=True)

    @property
    def url(self) -> str:
        return self.cluster.url

    @property
    def kubeconfig(self) -> Path:
        assert self.cluster.kubeconfig_path is not None
        return self.cluster.kubeconfig_path

    @property
    def kubectl(self) -> Path:
        assert self.cluster.binaries is not None
        return self.cluster.binaries.kubectl

    @property
    def client(self) -> KubeClient:
        assert self.cluster.client is not None
        return self.cluster.client

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run ``coro`` on the cluster's loop and wait (bounded) for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def acall(self, coro: Coroutine[Any, Any, T], within: float = 60.0) -> T:
        """Run ``coro`` on the cluster's loop from another loop (bounded)."""
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return await asyncio.wait_for(asyncio.wrap_future(future), within)

    async def namespace_exists(self, name: str) -> bool:
        async def read() -> bool:
            try:
                await self.client.get(f"/api/v1/namespaces/{name}")
            except ApiStatusError as exc:
                if exc.status == 404:
                    return False
                raise
            return True

        return await self.acall(read())

    def start(self) -> None:
        self._thread.start()
        self.call(self.cluster.start(), START_TIMEOUT + 10)

    def stop(self) -> None:
        try:
            self.call(self.cluster.stop(), STOP_TIMEOUT)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(STOP_TIMEOUT)

    def new_namespace(self, prefix: str) -> str:
        """A fresh namespace whose ``default`` ServiceAccount exists (pods can be created)."""
        name = f"{prefix}-{next(_names)}"
        self.call(_create_namespace(self.client, name), NAMESPACE_READY_TIMEOUT + 5)
        return name

    def delete_namespace(self, name: str) -> None:
        self.call(_delete_namespace(self.client, name))


@contextmanager
def running_realkube(base: Path, apiserver_flags: Sequence[str] = ()) -> Iterator[RealKubeThread]:
    """A started realkube with its kubeconfig and data under ``base``; stopped on exit."""
    cluster = RealKubeThread(base / "kubeconfig", base / "data", apiserver_flags=apiserver_flags)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


async def _create_namespace(client: KubeClient, name: str) -> None:
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    await client.request("POST", "/api/v1/namespaces", body=body)
    path = f"/api/v1/namespaces/{name}/serviceaccounts"
    async with asyncio.timeout(NAMESPACE_READY_TIMEOUT):
        listed = await client.get(path)
        if any(sa["metadata"]["name"] == "default" for sa in listed["items"]):
            return
        version = listed["metadata"]["resourceVersion"]
        async for event in client.watch(
            path, resource_version=version, fieldSelector="metadata.name=default"
        ):
            if event.get("type") == "ADDED":
                return
        raise AssertionError(f"no default ServiceAccount in {name}")


async def _delete_namespace(client: KubeClient, name: str) -> None:
    try:
        await client.request("DELETE", f"/api/v1/namespaces/{name}")
    except ApiStatusError as exc:
        if exc.status != 404:
            raise
