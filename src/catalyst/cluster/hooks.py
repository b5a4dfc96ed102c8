"""Helm hooks: which objects of a render are hooks, and in which phase and order they run.

Helm marks a hook with annotations on the object itself, and its template output (both
rendering backends) keeps them, so the render hands every hook to the deployer as an
ordinary object. This module reads those annotations and splits a render into an
`ApplyPlan` for one operation; it is pure (no cluster access) so the order is testable
on its own. The deployer (`catalyst.cluster.deployer`) executes the plan.

- ``helm.sh/hook``: comma-separated events. A create is Helm's install, a rebuild its
  upgrade: ``pre-install``/``pre-upgrade`` hooks run before the rest of the render,
  ``post-install``/``post-upgrade`` hooks after it is applied. A hook of no event of this
  operation (``pre-delete``, ``pre-rollback``, ``test``, ``pre-upgrade`` during a create,
  ...) is not applied at all; ``test`` hooks (and Helm 2's ``test-success``/``test-failure``)
  never are, since Catalyst does not run ``helm test``. An object with the annotation but
  no recognised event is likewise a hook of no phase here. Events are matched without
  surrounding spaces and case-sensitively, as Helm does. A hook of both a ``pre-`` and a
  ``post-`` event of the operation runs once, before the rest.
- Order within a phase is Helm's: ``helm.sh/hook-weight`` ascending (an integer; a
  missing or malformed weight counts as 0, as in Helm), then Helm's kind order
  (`catalyst.cluster.ordering`), then name. The rest of the render keeps the kind order
  (stable within a kind).
- ``helm.sh/hook-delete-policy``: ``before-hook-creation`` (the default when the
  annotation is missing or names no known policy, as in Helm), ``hook-succeeded``,
  ``hook-failed``; unknown words are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from catalyst.cluster.ordering import apply_rank, in_apply_order

HOOK_ANNOTATION = "helm.sh/hook"
WEIGHT_ANNOTATION = "helm.sh/hook-weight"
DELETE_POLICY_ANNOTATION = "helm.sh/hook-delete-policy"


class ReleaseEvent(StrEnum):
    """What an operation is to Helm: a create installs, a rebuild upgrades."""

    INSTALL = "install"
    UPGRADE = "upgrade"


class HookPhase(StrEnum):
    """When a hook runs relative to the rest of the render."""

    PRE = "pre"
    POST = "post"


class DeletePolicy(StrEnum):
    """Helm's hook delete policies."""

    BEFORE_HOOK_CREATION = "before-hook-creation"
    HOOK_SUCCEEDED = "hook-succeeded"
    HOOK_FAILED = "hook-failed"


@dataclass(frozen=True, slots=True)
class Hook:
    """One object of the render that Helm treats as a hook."""

    obj: dict[str, Any]
    events: frozenset[str]
    weight: int
    delete_policies: frozenset[DeletePolicy]

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    @property
    def name(self) -> str:
        return str((self.obj.get("metadata") or {}).get("name", ""))

    def event_name(self, phase: HookPhase, event: ReleaseEvent) -> str:
        """How Helm names the event this hook runs at, e.g. ``pre-install``."""
        return f"{phase.value}-{event.value}"

    def runs_at(self, phase: HookPhase, event: ReleaseEvent) -> bool:
        return self.event_name(phase, event) in self.events


@dataclass(frozen=True, slots=True)
class ApplyPlan:
    """One operation's render, split into what runs before, with and after the rest."""

    pre_hooks: tuple[Hook, ...]
    """Run first, one after another, in Helm's hook order."""
    resources: tuple[dict[str, Any], ...]
    """The render without hooks, in apply order."""
    post_hooks: tuple[Hook, ...]
    """Run after `resources` were applied, in Helm's hook order."""
    skipped: tuple[dict[str, Any], ...]
    """Hooks of no event of this operation (``test`` hooks among them): never applied."""

    def hooks(self, phase: HookPhase) -> tuple[Hook, ...]:
        return self.pre_hooks if phase is HookPhase.PRE else self.post_hooks


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return annotations if isinstance(annotations, Mapping) else {}


def _words(value: Any) -> list[str]:
    return [word.strip() for word in str(value).split(",") if word.strip()]


def _weight(value: Any) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return 0


def hook_of(obj: dict[str, Any]) -> Hook | None:
    """The hook `obj` is, or None when it carries no ``helm.sh/hook`` annotation."""
    annotations = _annotations(obj)
    if HOOK_ANNOTATION not in annotations:
        return None
    known = {policy.value for policy in DeletePolicy}
    policies = frozenset(
        DeletePolicy(word)
        for word in _words(annotations.get(DELETE_POLICY_ANNOTATION, ""))
        if word in known
    )
    return Hook(
        obj=obj,
        events=frozenset(_words(annotations.get(HOOK_ANNOTATION) or "")),
        weight=_weight(annotations.get(WEIGHT_ANNOTATION, 0)),
        delete_policies=policies or frozenset({DeletePolicy.BEFORE_HOOK_CREATION}),
    )


def _hook_order(hooks: Iterable[Hook]) -> tuple[Hook, ...]:
    return tuple(sorted(hooks, key=lambda hook: (hook.weight, apply_rank(hook.kind), hook.name)))


def plan_apply(objects: list[dict[str, Any]], event: ReleaseEvent) -> ApplyPlan:
    """Split a render into the phases of `event` (see module doc)."""
    resources: list[dict[str, Any]] = []
    pre: list[Hook] = []
    post: list[Hook] = []
    skipped: list[dict[str, Any]] = []
    for obj in objects:
        hook = hook_of(obj)
        if hook is None:
            resources.append(obj)
        elif hook.runs_at(HookPhase.PRE, event):
            pre.append(hook)
        elif hook.runs_at(HookPhase.POST, event):
            post.append(hook)
        else:
            skipped.append(obj)
    return ApplyPlan(
        pre_hooks=_hook_order(pre),
        resources=tuple(in_apply_order(resources)),
        post_hooks=_hook_order(post),
        skipped=tuple(skipped),
    )


def ever_applied(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The objects of a render that a create or a rebuild applies (in render order): all
    but hooks of neither, such as ``test`` hooks."""

    def applied(obj: dict[str, Any]) -> bool:
        hook = hook_of(obj)
        return hook is None or any(
            hook.runs_at(phase, event) for phase in HookPhase for event in ReleaseEvent
        )

    return [obj for obj in objects if applied(obj)]
