"""kubectl with a CustomResourceDefinition: apply it, wait for it, use its custom resources
by plural, short name and category, delete it (which waits for the cleanup)."""

from __future__ import annotations

import json

from tests.support.kubectl import Kubectl

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: widgets
    kind: Widget
    shortNames: [wd]
    categories: [all]
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
"""

WIDGET = """\
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w1
spec:
  size: {size}
"""


async def test_kubectl_gets_custom_resources_by_plural_short_name_and_category(
    kubectl: Kubectl, namespace: str
) -> None:
    out = await kubectl.apply(CRD)
    assert "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created" in out
    await kubectl.ok(
        "wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=10s"
    )
    out = await kubectl.ok("apply", "-n", namespace, "-f", "-", stdin=WIDGET.format(size=3))
    assert "widget.example.com/w1 created" in out

    listed = await kubectl.ok("get", "widgets", "-n", namespace)
    header, row = listed.splitlines()
    assert header.split() == ["NAME", "SIZE", "AGE"]
    assert row.split()[:2] == ["w1", "3"]
    assert (await kubectl.ok("get", "wd", "-n", namespace, "-o", "name")).split() == [
        "widget.example.com/w1"
    ]
    assert "widget.example.com/w1" in await kubectl.ok("get", "all", "-n", namespace)
    obj = json.loads(await kubectl.ok("get", "widget", "w1", "-n", namespace, "-o", "json"))
    assert (obj["apiVersion"], obj["kind"], obj["spec"]) == (
        "example.com/v1",
        "Widget",
        {"size": 3},
    )

    out = await kubectl.ok("apply", "-n", namespace, "-f", "-", stdin=WIDGET.format(size=4))
    assert "widget.example.com/w1 configured" in out
    await kubectl.ok("label", "widget", "w1", "-n", namespace, "tier=gold")
    out = await kubectl.ok("get", "wd", "-n", namespace, "-l", "tier=gold", "-o", "name")
    assert out.split() == ["widget.example.com/w1"]
    crds = await kubectl.ok("get", "crd")
    assert "widgets.example.com" in crds

    out = await kubectl.ok("delete", "crd", "widgets.example.com", deadline=30)
    assert 'customresourcedefinition.apiextensions.k8s.io "widgets.example.com" deleted' in out
    gone = await kubectl.run("get", "widgets", "-n", namespace)
    assert gone.code != 0
    # kubectl's discovery cache still maps widgets, so the list itself is the 404
    assert "the server could not find the requested resource" in gone.err
