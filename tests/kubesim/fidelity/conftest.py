"""Fixtures for fidelity tests: real clients pointed at the shared ``kubesim``.

``kubectl`` runs the real binary with the fixture's kubeconfig; ``k8s`` is an
``ApiClient`` of the official (synchronous) ``kubernetes`` package, which tests
only call through ``in_thread`` so the in-process server keeps answering;
``namespace`` is a fresh namespace created through that client.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from kubesim.server import KubeSim
from tests.support.kubectl import Kubectl
from tests.support.threads import in_thread

_names = itertools.count(1)


@pytest.fixture
def kubeconfig(kubesim: KubeSim) -> Path:
    assert kubesim.kubeconfig_path is not None
    return kubesim.kubeconfig_path


@pytest.fixture
def kubectl(kubeconfig: Path, tmp_path: Path) -> Kubectl:
    return Kubectl(kubeconfig, tmp_path / "home")


@pytest.fixture
def k8s(kubeconfig: Path) -> Iterator[client.ApiClient]:
    api_client = config.new_client_from_config(config_file=str(kubeconfig))
    try:
        yield api_client
    finally:
        api_client.close()


@pytest.fixture
async def namespace(k8s: client.ApiClient) -> str:
    name = f"fidelity-{next(_names)}"
    body = client.V1Namespace(metadata=client.V1ObjectMeta(name=name))
    await in_thread(client.CoreV1Api(k8s).create_namespace, body)
    return name
