"""realkube's kwok volume stages: a claim's binding is completed by the real PV binder.

kwok's own ``pvc-provision`` stage marks the claim ``bind-completed`` as it creates the
volume; kube-controller-manager's binder, not having seen the volume yet, then sets the
claim ``Lost`` for an instant (see `realkube.cluster._leave_bind_completion_to_the_binder`).
"""

from __future__ import annotations

from typing import Any

import yaml

from realkube.binaries import find_binaries
from realkube.cluster import BINDER_ANNOTATIONS, _leave_bind_completion_to_the_binder


def provision_stage() -> dict[str, Any]:
    text = (find_binaries().kwok_data / "pvc-provision.yaml").read_text()
    stage: dict[str, Any] = yaml.safe_load(text)
    return stage


def metadata_template(stage: dict[str, Any]) -> str:
    (template,) = [
        step["patch"]["template"]
        for step in stage["spec"]["steps"]
        if (step.get("patch") or {}).get("root") == "metadata"
    ]
    return str(template)


def test_kwok_marks_the_claim_bound_itself() -> None:
    # What the stage does unchanged (if kwok stops doing it, the change below is moot).
    template = metadata_template(provision_stage())
    assert all(annotation in template for annotation in BINDER_ANNOTATIONS), template


def test_the_stage_leaves_bind_completion_to_the_binder_and_keeps_the_rest() -> None:
    stage = provision_stage()
    steps_before = len(stage["spec"]["steps"])
    _leave_bind_completion_to_the_binder(stage)
    template = metadata_template(stage)
    assert not any(annotation in template for annotation in BINDER_ANNOTATIONS), template
    annotations = yaml.safe_load(template)["annotations"]
    assert annotations == {
        "volume.beta.kubernetes.io/storage-provisioner": "kwok.x-k8s.io/volume",
        "volume.kubernetes.io/storage-provisioner": "kwok.x-k8s.io/volume",
    }
    # The volume is still created and the claim still names it.
    assert len(stage["spec"]["steps"]) == steps_before
    assert any("volumeName" in str(step) for step in stage["spec"]["steps"])
