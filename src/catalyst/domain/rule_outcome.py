"""`RuleOutcome`: what one kind rule concludes about one present object.

Kind rules return it; the dispatcher in `resource_rules` wraps it into a
`ResourceEvaluation` together with the object's updated memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from catalyst.domain.memory import PodMemory
from catalyst.domain.model import ResourceState


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    state: ResourceState
    reason: str
    message: str = ""
    recheck_at: datetime | None = None
    """Earliest instant a time threshold could change this outcome without a new event."""
    pods: dict[str, PodMemory] = field(default_factory=dict)
    """Updated memory of the evidence pods that were assessed (keyed by pod uid)."""
    completed: bool = False
    """Set by the Job rule when the Job is complete."""


CURRENT = RuleOutcome(ResourceState.CURRENT, "Current")


def in_progress(reason: str, message: str = "") -> RuleOutcome:
    return RuleOutcome(ResourceState.IN_PROGRESS, reason, message)


def failed(reason: str, message: str = "") -> RuleOutcome:
    return RuleOutcome(ResourceState.FAILED, reason, message)
