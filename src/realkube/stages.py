"""kwok stages that move pods the way kubesim's simulator does, driven by the same knobs.

:func:`pod_stages` turns kubesim rules (:class:`kubesim.sim.rules.Rules`: default timings
plus label-matched pod rules) into kwok ``Stage`` objects for pods. Every stage's selector and
delay is a jq program that first computes the pod's behaviour exactly as kubesim's
``Rules.behaviour`` does: the timings, then every matching rule in order, then the pod's own
``sim.kubesim.io/fail|ready-after|run-for`` annotations (a malformed value is ignored). So the
same manifests and the same rules file behave the same on kubesim and on realkube.

The stages form one state machine keyed by the first container's status, so exactly one
stage matches a pod at any time (kwok picks one stage among those matching):

====================  ===========================================  =========================
state                 next                                          after
====================  ===========================================  =========================
scheduled, new        ContainerCreating                             at once
ContainerCreating     InvalidImageName (stays)                      ``startAfter``
ContainerCreating     ErrImagePull ⇄ ImagePullBackOff (doubling)    ``startAfter``
ContainerCreating     Running, not ready (init containers done)     ``startAfter``
running, not ready    Ready                                         ``readyAfter`` from start
running               exit 1 → CrashLoopBackOff (restart policy)    ``runFor`` from start
running               exit 0 → Succeeded / exit 1 → Failed          ``runFor`` from start
CrashLoopBackOff      running again, ``restartCount`` + 1          backoff 1 s·2ⁿ ≤ 300 s
being deleted         deleted (grace 0)                             at once
====================  ===========================================  =========================

Fail modes follow kubesim: ``CrashLoopBackOff`` exits 1 before it is ready; ``ExitError`` exits
1 after ``runFor`` (pod Failed under ``restartPolicy: Never``, else a crash loop);
``Unschedulable`` is left to the real scheduler (see :mod:`realkube.cluster`, which gives such
pods a node selector no node has). Long-running containers (``restartPolicy: Always`` and not
failing) never exit.

Where realkube differs from kubesim (kwok acts on whole pods): every container of a pod moves
together, with the behaviour of the pod (a rule with ``match.container`` applies to the pod
when it has a container of that name); init containers complete at once when the pod starts.
"""

from __future__ import annotations

import json
import re
from typing import Any

from kubesim.selectors import (
    OP_DOES_NOT_EXIST,
    OP_EQUALS,
    OP_EXISTS,
    OP_GREATER,
    OP_IN,
    OP_LESS,
    OP_NOT_EQUALS,
    OP_NOT_IN,
    LabelSelector,
)
from kubesim.sim.podstate import MAX_BACKOFF
from kubesim.sim.rules import ANNOTATION_PREFIX, FAIL_MODES, PodRule, Rules

STAGE_API = "kwok.x-k8s.io/v1alpha1"
# Counts the ImagePullBackOff rounds of a pod, so the back-off doubles like the kubelet's.
PULL_BACKOFFS_ANNOTATION = "realkube.catalyst.dev/image-pull-backoffs"
FAILING = ("CrashLoopBackOff", "ExitError")


def _lit(value: object) -> str:
    """A jq literal (JSON is valid jq)."""
    return json.dumps(value)


def glob_regex(pattern: str) -> str:
    """An anchored RE2 pattern for an ``fnmatch`` glob (``*``, ``?``, ``[...]``)."""
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return "^" + "".join(out) + "$"


def _selector_jq(selector: LabelSelector) -> str:
    """A jq condition on ``$l`` (the pod's labels) equal to ``selector.matches``."""
    parts = []
    for req in selector.requirements:
        key = _lit(req.key)
        has = f"($l | has({key}))"
        value = f"$l[{key}]"
        if req.operator in (OP_EQUALS, OP_IN):
            parts.append(f"({has} and ({_lit(list(req.values))} | index([{value}]) != null))")
        elif req.operator in (OP_NOT_EQUALS, OP_NOT_IN):
            parts.append(
                f"(({has} | not) or ({_lit(list(req.values))} | index([{value}]) == null))"
            )
        elif req.operator == OP_EXISTS:
            parts.append(has)
        elif req.operator == OP_DOES_NOT_EXIST:
            parts.append(f"({has} | not)")
        elif req.operator in (OP_GREATER, OP_LESS):
            op = ">" if req.operator == OP_GREATER else "<"
            want = int(req.values[0])
            parts.append(
                f"({has} and (({value} | tonumber? // null) as $n | $n != null and $n {op} {want}))"
            )
    return " and ".join(parts) if parts else "true"


def _rule_jq(rule: PodRule) -> str:
    """``. as $p`` is the pod and ``.`` the behaviour so far: apply ``rule`` when it matches."""
    conditions = []
    if rule.namespace is not None:
        conditions.append(
            f'(($p.metadata.namespace // "") | test({_lit(glob_regex(rule.namespace))}))'
        )
    if rule.selector is not None and not rule.selector.empty:
        conditions.append(f"({_selector_jq(rule.selector)})")
    if rule.container is not None:
        conditions.append(
            f"([($p.spec.containers // [])[].name] | index([{_lit(rule.container)}]) != null)"
        )
    updates = []
    if rule.ready_after is not None:
        updates.append(f".ready = {rule.ready_after!r}")
    if rule.run_for is not None:
        updates.append(f".run = {rule.run_for!r}")
    if rule.fail is not None:
        updates.append(f".fail = {_lit(rule.fail)}")
    if not updates:
        return "."
    condition = " and ".join(conditions) if conditions else "true"
    return f"(if {condition} then ({' | '.join(updates)}) else . end)"


def prelude(rules: Rules) -> str:
    """jq definitions every stage's expressions start with.

    ``plan`` is the pod's behaviour: ``{fail, ready, run, policy, failing, runlen, restarts}``
    (seconds; ``runlen`` null for a container that never exits); ``cs0`` the first container
    status; ``started`` its current run's start (epoch seconds); ``delay_until(t)`` the jq
    duration kwok waits until epoch ``t``.
    """
    t = rules.timings
    base = f"{{fail: null, ready: {t.ready_after!r}, run: {t.run_for!r}}}"
    rule_steps = " | ".join(_rule_jq(rule) for rule in rules.pods) or "."
    ann = "($p.metadata.annotations // {})"
    fail_modes = _lit(sorted(FAIL_MODES))
    return f"""
def secs: if type == "string" and test("^([0-9]+(\\\\.[0-9]+)?(ms|s|m|h))+$")
  then [scan("([0-9]+(?:\\\\.[0-9]+)?)(ms|s|m|h)")
        | (.[0] | tonumber) * ({{"ms": 0.001, "s": 1, "m": 60, "h": 3600}}[.[1]])] | add
  else null end;
def epoch: (sub("\\\\.[0-9]+Z$"; "Z") | fromdate)
  + (([capture("\\\\.(?<f>[0-9]+)Z$")] | .[0].f // "0") as $f | ("0." + $f | tonumber));
def behaviour: . as $p | ($p.metadata.labels // {{}}) as $l | {base} | {rule_steps}
  | {ann} as $a
  | (if ($a[{_lit(ANNOTATION_PREFIX + "fail")}] as $f | {fail_modes} | index([$f]) != null)
     then .fail = $a[{_lit(ANNOTATION_PREFIX + "fail")}] else . end)
  | (($a[{_lit(ANNOTATION_PREFIX + "ready-after")}] | secs) as $v
     | if $v != null then .ready = $v else . end)
  | (($a[{_lit(ANNOTATION_PREFIX + "run-for")}] | secs) as $v
     | if $v != null then .run = $v else . end);
def plan: (.spec.restartPolicy // "Always") as $pol | behaviour
  | (.fail == "CrashLoopBackOff" or .fail == "ExitError") as $failing
  | . + {{policy: $pol, failing: $failing,
         runlen: (if .fail == "CrashLoopBackOff" then ([([.run, .ready] | min), 0.01] | max)
                  elif .fail == "ExitError" then ([.run, 0.01] | max)
                  elif $pol != "Always" then .run else null end),
         restarts: ($pol == "Always" or ($pol == "OnFailure" and $failing))}};
def cs0: ((.status.containerStatuses // [])[0] // {{}});
def waiting: (cs0.state.waiting.reason // "");
def started: (cs0.state.running.startedAt // null | if . == null then null else epoch end);
def ms(s): ((s * 1000) | floor | if . < 0 then 0 else . end | tostring) + "ms";
def delay_until(t): ms(t - now);
def backoff(n): [{t.restart_backoff!r} * pow(2; n), {MAX_BACKOFF!r}] | min;
def live: (.metadata.deletionTimestamp == null) and (.spec.nodeName != null);
"""


# ---------------------------------------------------------------- templates (Go templates)

_HEAD = "{{ $now := Now }}{{ $root := . }}\n"


def _status_entry(state: str, *, ready: str, started: str, restarts: str, last: str) -> str:
    """One ``containerStatuses`` item for container ``$c`` at index ``$i`` (``$old`` its status)."""
    return (
        "- name: {{ $c.name | Quote }}\n"
        "  image: {{ $c.image | Quote }}\n"
        '  imageID: {{ printf "%s@sha256:%s" (regexReplaceAll ":[^:/]*$" $c.image "") '
        "(sha256sum $c.image) | Quote }}\n"
        '  containerID: {{ printf "containerd://%s" (sha256sum (printf "%s/%s/%v" '
        f"$root.metadata.uid $c.name {restarts})) | Quote }}}}\n"
        f"  ready: {ready}\n"
        f"  started: {started}\n"
        f"  restartCount: {{{{ {restarts} }}}}\n"
        f"  state:\n{_indent(state, 4)}\n"
        f"  lastState:\n{_indent(last, 4)}\n"
    )


def _indent(text: str, n: int) -> str:
    pad = " " * n
    return "\n".join(pad + line if line else line for line in text.strip("\n").split("\n"))


def _container_statuses(
    state: str, *, ready: str, started: str, restarts: str, last: str, uses_old: bool
) -> str:
    old = "{{ $old := index $root.status.containerStatuses $i }}" if uses_old else ""
    return (
        "containerStatuses:\n"
        "{{ range $i, $c := .spec.containers }}"
        + old
        + "\n"
        + _status_entry(state, ready=ready, started=started, restarts=restarts, last=last)
        + "{{ end }}\n"
    )


def _init_statuses(state: str, ready: str) -> str:
    return (
        "{{ if .spec.initContainers }}\ninitContainerStatuses:\n"
        "{{ range $i, $c := .spec.initContainers }}\n"
        + _status_entry(state, ready=ready, started="false", restarts="0", last="{}")
        + "{{ end }}\n{{ end }}\n"
    )


def _condition(ctype: str, status: str, reason: str = "", message: str = "") -> str:
    text = (
        f"- type: {ctype}\n  status: {_lit(status)}\n  lastProbeTime: null\n"
        "  lastTransitionTime: {{ $now | Quote }}\n"
    )
    if reason:
        text += f"  reason: {reason}\n"
    if message:
        text += f"  message: {message}\n"
    return text


_NAMES = (
    "{{ $names := list }}{{ range .spec.containers }}{{ $names = append $names .name }}{{ end }}"
)
_UNREADY = (
    _NAMES
    + "\n"
    + "conditions:\n"
    + _condition(
        "Ready",
        "False",
        "ContainersNotReady",
        '{{ printf "containers with unready status: [%s]" (join " " $names) | Quote }}',
    )
    + _condition(
        "ContainersReady",
        "False",
        "ContainersNotReady",
        '{{ printf "containers with unready status: [%s]" (join " " $names) | Quote }}',
    )
)
_RUNNING = "running:\n  startedAt: {{ $now | Quote }}"
_KEEP_RUNNING = "running:\n  startedAt: {{ $old.state.running.startedAt | Quote }}"
_KEEP_LAST = "{{ if $old.lastState }}{{ toJson $old.lastState }}{{ else }}{}{{ end }}"


def _terminated(code: int) -> str:
    reason = "Error" if code else "Completed"
    return (
        "terminated:\n"
        f"  exitCode: {code}\n"
        f"  reason: {reason}\n"
        "  startedAt: {{ $old.state.running.startedAt | Quote }}\n"
        "  finishedAt: {{ $now | Quote }}\n"
        '  containerID: {{ printf "containerd://%s" (sha256sum (printf "%s/%s/%v" '
        "$root.metadata.uid $c.name $old.restartCount)) | Quote }}"
    )


def _waiting(reason: str, message: str) -> str:
    return f"waiting:\n  reason: {reason}\n  message: {message}"


def _stage(
    name: str,
    pre: str,
    condition: str,
    template: str,
    *,
    delay: str | None = None,
    event: tuple[str, str, str] | None = None,
    extra_steps: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "resourceRef": {"apiGroup": "v1", "kind": "Pod"},
        "selector": {
            "matchExpressions": [
                {
                    "jq": {
                        "key": f"{pre}\n(live and ({condition}))",
                        "operator": "In",
                        "values": ["true"],
                    }
                }
            ]
        },
    }
    if delay is not None:
        spec["delay"] = {
            "durationMilliseconds": 0,
            "durationFrom": {"jq": {"expression": f"{pre}\n{delay}"}},
        }
    steps: list[dict[str, Any]] = []
    if event is not None:
        steps.append({"event": {"type": event[0], "reason": event[1], "message": event[2]}})
    steps.append(
        {"patch": {"root": "status", "subresource": "status", "template": _HEAD + template}}
    )
    steps.extend(extra_steps or [])
    spec["steps"] = steps
    return {"apiVersion": STAGE_API, "kind": "Stage", "metadata": {"name": name}, "spec": spec}


def _backoff_steps(base: float) -> list[str]:
    """The crash-loop back-offs in seconds (as the kubelet prints them), doubling to the cap."""
    steps: list[str] = []
    value = max(base, 0.01)
    while True:
        capped = min(value, MAX_BACKOFF)
        steps.append(_lit(f"{capped:g}"))
        if capped >= MAX_BACKOFF or len(steps) > 40:
            return steps
        value *= 2


def pod_stages(rules: Rules) -> list[dict[str, Any]]:
    """The kwok Stage objects for pods under ``rules`` (see the module docstring)."""
    pre = prelude(rules)
    t = rules.timings
    start_after = f"ms({t.start_after!r})"
    pod_ip = (
        'podIP: {{ PodIPWith .spec.nodeName (or .spec.hostNetwork false) (or .metadata.uid "") '
        '(or .metadata.name "") (or .metadata.namespace "") | Quote }}\n'
    )
    host_ip = "hostIP: {{ NodeIPWith .spec.nodeName | Quote }}\n"
    creating = "waiting:\n  reason: ContainerCreating"

    stages = []
    # scheduled → ContainerCreating
    stages.append(
        _stage(
            "sim-pod-create",
            pre,
            '.status.containerStatuses == null and ((.status.phase // "Pending") == "Pending")',
            "phase: Pending\n"
            + host_ip
            + "startTime: {{ $now | Quote }}\n"
            + _UNREADY
            + _condition("PodReadyToStartContainers", "False")
            + "{{ if .spec.initContainers }}\n"
            + _condition(
                "Initialized",
                "False",
                "ContainersNotInitialized",
                "{{ $inits := list }}{{ range .spec.initContainers }}"
                "{{ $inits = append $inits .name }}{{ end }}"
                '{{ printf "containers with incomplete status: [%s]" (join " " $inits) | Quote }}',
            )
            + "{{ else }}\n"
            + _condition("Initialized", "True")
            + "{{ end }}\n"
            + _container_statuses(
                creating, ready="false", started="false", restarts="0", last="{}", uses_old=False
            )
            + _init_statuses("waiting:\n  reason: PodInitializing", "false"),
        )
    )
    # ContainerCreating → InvalidImageName
    invalid_message = (
        "{{ printf \"Failed to apply default image tag %q: couldn't parse image name %q: "
        'invalid reference format" $c.image $c.image | Quote }}'
    )
    stages.append(
        _stage(
            "sim-pod-invalid-image-name",
            pre,
            'waiting == "ContainerCreating" and (plan.fail == "InvalidImageName")',
            _container_statuses(
                _waiting("InvalidImageName", invalid_message),
                ready="false",
                started="false",
                restarts="0",
                last="{}",
                uses_old=False,
            ),
            delay=start_after,
            event=("Warning", "InspectFailed", "Failed to apply default image tag"),
        )
    )
    # ContainerCreating / ImagePullBackOff → ErrImagePull
    pull_message = (
        '{{ printf "failed to pull and unpack image %q: failed to resolve reference %q: pull '
        'access denied, repository does not exist or may require authorization" '
        "$c.image $c.image | Quote }}"
    )
    rounds = (
        f'((.metadata.annotations // {{}})[{_lit(PULL_BACKOFFS_ANNOTATION)}] // "0" | tonumber)'
    )
    stages.append(
        _stage(
            "sim-pod-err-image-pull",
            pre,
            '(waiting == "ContainerCreating" or waiting == "ImagePullBackOff")'
            ' and (plan.fail == "ImagePullBackOff")',
            _container_statuses(
                _waiting("ErrImagePull", pull_message),
                ready="false",
                started="false",
                restarts="0",
                last="{}",
                uses_old=False,
            ),
            delay=(
                f'if waiting == "ContainerCreating" then {start_after} '
                f"else ms(backoff({rounds} - 1)) end"
            ),
            event=("Warning", "Failed", "Failed to pull image: ErrImagePull"),
        )
    )
    # ErrImagePull → ImagePullBackOff (and count the round)
    stages.append(
        _stage(
            "sim-pod-image-pull-backoff",
            pre,
            'waiting == "ErrImagePull"',
            _container_statuses(
                _waiting(
                    "ImagePullBackOff", '{{ printf "Back-off pulling image %q" $c.image | Quote }}'
                ),
                ready="false",
                started="false",
                restarts="0",
                last="{}",
                uses_old=False,
            ),
            delay=f"ms({t.restart_backoff!r})",
            event=("Normal", "BackOff", "Back-off pulling image"),
            extra_steps=[
                {
                    "patch": {
                        "root": "metadata",
                        "template": (
                            "annotations:\n  "
                            + PULL_BACKOFFS_ANNOTATION
                            + ': {{ add1 (atoi (or (index (or .metadata.annotations dict) "'
                            + PULL_BACKOFFS_ANNOTATION
                            + '") "0")) | toString | Quote }}'
                        ),
                    }
                }
            ],
        )
    )
    # ContainerCreating → Running
    stages.append(
        _stage(
            "sim-pod-start",
            pre,
            'waiting == "ContainerCreating" and (plan.fail as $f '
            '| ["InvalidImageName", "ImagePullBackOff"] | index([$f]) == null)',
            "phase: Running\n"
            + pod_ip
            + _UNREADY
            + _condition("PodReadyToStartContainers", "True")
            + _condition("Initialized", "True")
            + _container_statuses(
                _RUNNING, ready="false", started="true", restarts="0", last="{}", uses_old=False
            )
            + _init_statuses(
                "terminated:\n  exitCode: 0\n  reason: Completed\n"
                "  startedAt: {{ $now | Quote }}\n  finishedAt: {{ $now | Quote }}",
                "true",
            ),
            delay=start_after,
            event=("Normal", "Started", "Started container"),
        )
    )
    will_be_ready = '(plan | .fail != "CrashLoopBackOff" and (.runlen == null or .ready < .runlen))'
    # running, not ready → Ready
    stages.append(
        _stage(
            "sim-pod-ready",
            pre,
            f"started != null and (cs0.ready | not) and {will_be_ready}",
            "conditions:\n"
            + _condition("Ready", "True")
            + _condition("ContainersReady", "True")
            + _container_statuses(
                _KEEP_RUNNING,
                ready="true",
                started="true",
                restarts="$old.restartCount",
                last=_KEEP_LAST,
                uses_old=True,
            ),
            delay="delay_until(started + plan.ready)",
        )
    )
    exits = (
        "started != null and (plan.runlen != null)"
        f" and ((cs0.ready == true) or ({will_be_ready} | not))"
    )
    # running → exit 1 → CrashLoopBackOff (restarted)
    steps = _backoff_steps(t.restart_backoff)
    crash_message = (
        '{{ printf "back-off %vs restarting failed container=%s pod=%s_%s(%s)" '
        f"(index (list {' '.join(steps)}) (min {len(steps) - 1} (int $old.restartCount))) "
        "$c.name $root.metadata.name $root.metadata.namespace $root.metadata.uid | Quote }}"
    )
    stages.append(
        _stage(
            "sim-pod-crash",
            pre,
            f"{exits} and plan.restarts and plan.failing",
            _UNREADY
            + _container_statuses(
                _waiting("CrashLoopBackOff", crash_message),
                ready="false",
                started="false",
                restarts="$old.restartCount",
                last=_terminated(1),
                uses_old=True,
            ),
            delay="delay_until(started + plan.runlen)",
            event=("Warning", "BackOff", "Back-off restarting failed container"),
        )
    )
    # running → exit → Succeeded / Failed
    for code, phase in ((0, "Succeeded"), (1, "Failed")):
        failing = "plan.failing" if code else "(plan.failing | not)"
        stages.append(
            _stage(
                f"sim-pod-exit-{code}",
                pre,
                f"{exits} and (plan.restarts | not) and {failing}",
                f"phase: {phase}\n"
                + "conditions:\n"
                + _condition("Ready", "False", "PodCompleted")
                + _condition("ContainersReady", "False", "PodCompleted")
                + _container_statuses(
                    _terminated(code),
                    ready="false",
                    started="false",
                    restarts="$old.restartCount",
                    last=_KEEP_LAST,
                    uses_old=True,
                ),
                delay="delay_until(started + plan.runlen)",
            )
        )
    # CrashLoopBackOff → running again
    stages.append(
        _stage(
            "sim-pod-restart",
            pre,
            'waiting == "CrashLoopBackOff"',
            _container_statuses(
                _RUNNING,
                ready="false",
                started="true",
                restarts="(add1 $old.restartCount)",
                last=_KEEP_LAST,
                uses_old=True,
            ),
            delay="ms(backoff(cs0.restartCount // 0))",
            event=("Normal", "Started", "Started container"),
        )
    )
    stages.append(
        {
            "apiVersion": STAGE_API,
            "kind": "Stage",
            "metadata": {"name": "sim-pod-delete"},
            "spec": {
                "resourceRef": {"apiGroup": "v1", "kind": "Pod"},
                "selector": {
                    "matchExpressions": [
                        {"jq": {"key": ".metadata.deletionTimestamp", "operator": "Exists"}}
                    ]
                },
                "steps": [{"delete": True}],
            },
        }
    )
    return stages
