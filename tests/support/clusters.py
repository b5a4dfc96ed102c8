"""Tests that run on both clusters: kubesim (in-process, per test) and realkube (the
session's real control plane).

A test (or a module, through ``pytestmark``) opts in with :data:`BOTH_CLUSTERS`, which
parametrizes the fixture ``kube_cluster`` (``tests/conftest.py``) as ``kubesim`` and
``realkube``; each side carries the marker of the same name, so ``-m realkube`` runs only the
real side and ``-m "not realkube"`` only kubesim's (``-k realkube`` works too, by the ids).
Without the mark, ``kube_cluster`` is kubesim. A case that needs kubesim's fault controls
(``/kubesim/*``) stays kubesim-only and says why.

:class:`KubeCluster` gives what tests need from either: the URL and kubeconfig, HTTP clients
that authenticate as an admin (realkube speaks TLS with a client certificate), fresh
namespaces, and environment ids. On kubesim a test owns the whole cluster; on realkube tests
share one cluster, so every namespace and environment id a test gets is new for the session
(``env-<id>`` namespaces never collide), and what a test made is deleted after it (without
waiting). A Catalyst with its own database is given a block of ids
(:meth:`KubeCluster.environment_id_block`, applied with :func:`start_environment_ids_at`).
"""

from __future__ import annotations

import asyncio
import itertools
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from sqlalchemy import text

from catalyst.store.database import Database
from kubesim.server import KubeSim
from realkube.client import ssl_context
from tests.support.realkube_thread import RealKubeThread

KUBESIM = "kubesim"
REALKUBE = "realkube"

_SIDES = [
    pytest.param(KUBESIM, marks=pytest.mark.kubesim, id=KUBESIM),
    pytest.param(REALKUBE, marks=pytest.mark.realkube, id=REALKUBE),
]
BOTH_CLUSTERS = pytest.mark.parametrize("kube_cluster", _SIDES, indirect=True)
# For a Catalyst under test: on kubesim it runs its own embedded kubesim (fixture value
# None), on realkube it is pointed at the session's cluster.
BOTH_CLUSTERS_FOR_CATALYST = pytest.mark.parametrize("catalyst_cluster", _SIDES, indirect=True)

# Environment ids (and so namespaces env-<id>) handed out on the shared realkube. A block
# serves a Catalyst database; single ids serve deployer tests. Never reused in a session.
ID_BLOCK = 1000
_single_ids = itertools.count(100_000)
_id_blocks = itertools.count(1)
_namespace_numbers = itertools.count(1)


@dataclass
class KubeCluster:
    """One cluster as a test sees it; ``sim`` is set on kubesim, ``real`` on realkube."""

    name: str
    url: str
    kubeconfig_path: Path
    sim: KubeSim | None = None
    real: RealKubeThread | None = None
    _namespaces: list[str] = field(default_factory=list)
    _id_ranges: list[range] = field(default_factory=list)

    @property
    def is_real(self) -> bool:
        return self.real is not None

    @property
    def ssl(self) -> ssl.SSLContext | None:
        """TLS with the admin client certificate on realkube; plain HTTP on kubesim."""
        if self.real is None:
            return None
        pki = self.real.cluster.pki
        assert pki is not None
        return ssl_context(pki)

    def aiohttp_session(self, **options: Any) -> aiohttp.ClientSession:
        context = self.ssl
        connector = aiohttp.TCPConnector(ssl=context) if context is not None else None
        timeout = aiohttp.ClientTimeout(total=30)
        return aiohttp.ClientSession(
            base_url=self.url, connector=connector, timeout=timeout, **options
        )

    def httpx_client(self, **options: Any) -> httpx.AsyncClient:
        verify: ssl.SSLContext | bool = self.ssl or True
        options.setdefault("timeout", 30)
        return httpx.AsyncClient(base_url=self.url, verify=verify, **options)

    async def new_namespace(self, prefix: str = "t") -> str:
        """A namespace of this test's own (on realkube: once its default ServiceAccount
        exists, so pods can be created; deleted after the test)."""
        if self.real is not None:
            name = await asyncio.to_thread(self.real.new_namespace, prefix)
        else:
            name = f"{prefix}-{next(_namespace_numbers)}"
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            async with (
                self.aiohttp_session() as session,
                session.post("/api/v1/namespaces", json=body) as response,
            ):
                assert response.status == 201, await response.text()
        self._namespaces.append(name)
        return name

    def environment_id(self) -> int:
        """An environment id whose namespace ``env-<id>`` no other test uses."""
        env_id = next(_single_ids)
        self._id_ranges.append(range(env_id, env_id + 1))
        return env_id

    def environment_id_block(self) -> int | None:
        """The first id of a block for a Catalyst database on realkube (None on kubesim,
        where a test owns the cluster and ids may start at 1)."""
        if self.real is None:
            return None
        first = next(_id_blocks) * ID_BLOCK * 10
        self._id_ranges.append(range(first, first + ID_BLOCK))
        return first

    def clean_up(self) -> None:
        """Delete (without waiting) every namespace this test made or caused."""
        if self.real is None:
            return
        names = set(self._namespaces)
        if self._id_ranges:
            listed = self.real.call(self.real.client.get("/api/v1/namespaces"))
            for item in listed["items"]:
                name = item["metadata"]["name"]
                number = name.removeprefix("env-")
                if (
                    name.startswith("env-")
                    and number.isdigit()
                    and any(int(number) in ids for ids in self._id_ranges)
                ):
                    names.add(name)
        for name in sorted(names):
            self.real.delete_namespace(name)


def make_kube_cluster(request: pytest.FixtureRequest) -> KubeCluster:
    kind = getattr(request, "param", KUBESIM)
    if kind == REALKUBE:
        return make_realkube_cluster(request)
    assert kind == KUBESIM, kind
    sim: KubeSim = request.getfixturevalue("kubesim")
    assert sim.kubeconfig_path is not None
    return KubeCluster(KUBESIM, sim.url, sim.kubeconfig_path, sim=sim)


def make_realkube_cluster(request: pytest.FixtureRequest) -> KubeCluster:
    real: RealKubeThread = request.getfixturevalue("realkube")
    return KubeCluster(REALKUBE, real.url, real.kubeconfig, real=real)


def catalyst_settings(cluster: KubeCluster | None, lease_namespace: str | None) -> dict[str, str]:
    """Catalyst settings (``Settings`` field names) that point it at ``cluster``; nothing
    for its embedded kubesim."""
    if cluster is None:
        return {}
    assert lease_namespace is not None
    return {"kubeconfig": str(cluster.kubeconfig_path), "lease_namespace": lease_namespace}


async def start_environment_ids_at(database: Database, first: int) -> None:
    """Make the next environment created in ``database`` get id ``first`` (ids are never
    reused, so every later one is above it). The schema must exist (connect first)."""
    async with database.write() as connection:
        dialect = connection.dialect.name
        if dialect == "sqlite":
            await connection.execute(
                text("DELETE FROM sqlite_sequence WHERE name = 'environments'")
            )
            await connection.execute(
                text("INSERT INTO sqlite_sequence (name, seq) VALUES ('environments', :seq)"),
                {"seq": first - 1},
            )
        elif dialect == "postgresql":
            await connection.execute(
                text("SELECT setval(pg_get_serial_sequence('environments', 'id'), :seq)"),
                {"seq": first - 1},
            )
        else:
            await connection.execute(text(f"ALTER TABLE environments AUTO_INCREMENT = {first:d}"))
