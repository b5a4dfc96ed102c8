"""Helm 4 (Go SDK) installing a chart that ships its CRD in ``crds/`` and a custom resource
in ``templates/``: Helm creates the CRD, waits for it to be established, finds the new kind
through discovery, applies the custom resource and waits for it with kstatus."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
from kubernetes import client

from tests.support.threads import in_thread

HELM_TIMEOUT = 30

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.tools.example.com
spec:
  group: tools.example.com
  scope: Namespaced
  names: {plural: gadgets, kind: Gadget}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""

TEMPLATE = """\
apiVersion: tools.example.com/v1alpha1
kind: Gadget
metadata:
  name: {{ .Release.Name }}-gadget
spec:
  color: {{ .Values.color }}
"""


async def _get(k8s: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    custom = client.CustomObjectsApi(k8s)
    found = await in_thread(
        custom.get_namespaced_custom_object,
        "tools.example.com",
        "v1alpha1",
        namespace,
        "gadgets",
        name,
    )
    assert isinstance(found, dict)
    return found


@pytest.fixture
def helm_config(kubeconfig: Path, namespace: str) -> Iterator[helm.Config]:
    with helm.Config(kubeconfig_path=kubeconfig, namespace=namespace) as cfg:
        yield cfg


def _chart(root: Path) -> Path:
    (root / "crds").mkdir(parents=True)
    (root / "templates").mkdir()
    (root / "Chart.yaml").write_text("apiVersion: v2\nname: gadgets\nversion: 0.1.0\n")
    (root / "values.yaml").write_text("color: blue\n")
    (root / "crds" / "gadgets.yaml").write_text(CRD)
    (root / "templates" / "gadget.yaml").write_text(TEMPLATE)
    return root


async def test_helm_installs_the_crd_then_the_custom_resource(
    helm_config: helm.Config, k8s: client.ApiClient, namespace: str, tmp_path: Path
) -> None:
    chart = _chart(tmp_path / "chart")
    release = await in_thread(
        helm_config.install, chart, "kit", None, wait="watcher", timeout=HELM_TIMEOUT
    )
    assert release["status"] == "deployed"
    gadget = await _get(k8s, namespace, "kit-gadget")
    assert gadget["spec"] == {"color": "blue"}
    assert gadget["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"

    upgraded = await in_thread(
        helm_config.upgrade, chart, "kit", {"color": "red"}, wait="watcher", timeout=HELM_TIMEOUT
    )
    assert upgraded["revision"] == 2
    gadget = await _get(k8s, namespace, "kit-gadget")
    assert gadget["spec"] == {"color": "red"}

    await in_thread(helm_config.uninstall, "kit", wait="watcher", timeout=HELM_TIMEOUT)
    custom = client.CustomObjectsApi(k8s)
    listed = await in_thread(
        custom.list_namespaced_custom_object, "tools.example.com", "v1alpha1", namespace, "gadgets"
    )
    assert isinstance(listed, dict)
    assert listed["items"] == []
    # Helm never deletes CRDs from crds/; the definition stays installed
    crds = client.ApiextensionsV1Api(k8s)
    kept = await in_thread(crds.read_custom_resource_definition, "gadgets.tools.example.com")
    assert kept.metadata is not None
    assert kept.metadata.name == "gadgets.tools.example.com"
