from __future__ import annotations

from pathlib import Path

import pytest

from kubesim.sim import RulesError, load_rules, parse_rules
from kubesim.sim.rules import Timings, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("300ms", 0.3),
        ("3s", 3.0),
        ("2m", 120.0),
        ("1h", 3600.0),
        ("1m30s", 90.0),
        ("1.5s", 1.5),
        (2, 2.0),
    ],
)
def test_parse_duration(text: object, seconds: float) -> None:
    assert parse_duration(text, key="k") == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["3", "soon", "3 s", "-1s", "", "1s2", True, None, -1])
def test_parse_duration_rejects_bad_values_naming_the_key(bad: object) -> None:
    with pytest.raises(RulesError, match=r"^timings\.runFor"):
        parse_duration(bad, key="timings.runFor")


def test_missing_file_means_defaults() -> None:
    rules = load_rules(None)
    assert rules.timings == Timings()
    assert rules.pods == ()


def test_defaults_make_everything_ready_in_about_a_second() -> None:
    t = Timings()
    assert t.schedule_after + t.start_after + t.ready_after <= 1.0


def test_load_rules_from_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        """
timings:
  readyAfter: 2s
  bindAfter: 50ms
pods:
  - match: {namespace: "team-*", labelSelector: "app.kubernetes.io/component=install"}
    runFor: 6s
    logs: "line one\\nline two"
  - match: {container: sidecar}
    fail: CrashLoopBackOff
"""
    )
    rules = load_rules(path)
    assert rules.timings.ready_after == 2.0
    assert rules.timings.bind_after == 0.05
    assert rules.timings.run_for == 1.0
    assert len(rules.pods) == 2
    assert rules.pods[0].run_for == 6.0
    assert rules.pods[1].fail == "CrashLoopBackOff"


def test_empty_file_is_defaults(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("")
    assert load_rules(path).timings == Timings()


@pytest.mark.parametrize(
    ("doc", "key"),
    [
        ({"timing": {}}, "rules.timing"),
        ({"timings": {"readyAfer": "1s"}}, "timings.readyAfer"),
        ({"timings": {"readyAfter": "fast"}}, "timings.readyAfter"),
        ({"pods": [{"match": {}}, {"fail": "Explode"}]}, "pods[1].fail"),
        ({"pods": [{"runFor": "1x"}]}, "pods[0].runFor"),
        ({"pods": [{"match": {"labels": "a=b"}}]}, "pods[0].match.labels"),
        ({"pods": [{"match": {"labelSelector": "a in (b"}}]}, "pods[0].match.labelSelector"),
        ({"pods": [{"color": "red"}]}, "pods[0].color"),
        ({"pods": {"a": 1}}, "pods"),
    ],
)
def test_bad_rules_name_the_key(doc: dict[str, object], key: str) -> None:
    with pytest.raises(RulesError) as info:
        parse_rules(doc)
    assert str(info.value).startswith(key)


def test_bad_file_error_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("timings:\n  runFor: forever\n")
    with pytest.raises(RulesError, match=r"rules.yaml: timings.runFor: bad duration"):
        load_rules(path)


def test_invalid_yaml_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("timings: [\n")
    with pytest.raises(RulesError, match="not valid YAML"):
        load_rules(path)


def _pod(
    namespace: str = "team-a",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, object]:
    return {
        "metadata": {
            "name": "p",
            "namespace": namespace,
            "labels": labels or {},
            "annotations": annotations or {},
        }
    }


RULES = {
    "timings": {"readyAfter": "1s", "runFor": "2s"},
    "pods": [
        {"match": {"namespace": "team-*"}, "readyAfter": "3s"},
        {"match": {"labelSelector": "tier in (db),!canary"}, "runFor": "9s", "logs": "hello"},
        {"match": {"container": "sidecar"}, "fail": "ExitError"},
        {"match": {"namespace": "team-a"}, "readyAfter": "4s"},
    ],
}


def test_defaults_apply_without_matching_rules() -> None:
    b = parse_rules(RULES).behaviour(_pod(namespace="other"), "main")
    assert (b.ready_after, b.run_for, b.fail, b.logs) == (1.0, 2.0, None, None)


def test_every_matching_rule_applies_in_order_later_wins() -> None:
    b = parse_rules(RULES).behaviour(_pod(labels={"tier": "db"}), "main")
    assert b.ready_after == 4.0
    assert b.run_for == 9.0
    assert b.logs == "hello"
    assert b.fail is None


def test_label_selector_and_container_match() -> None:
    rules = parse_rules(RULES)
    assert rules.behaviour(_pod(labels={"tier": "db", "canary": "1"}), "main").run_for == 2.0
    assert rules.behaviour(_pod(), "sidecar").fail == "ExitError"
    assert rules.behaviour(_pod(), "main").fail is None


def test_annotations_win_over_rules() -> None:
    pod = _pod(
        labels={"tier": "db"},
        annotations={
            "sim.kubesim.io/ready-after": "500ms",
            "sim.kubesim.io/run-for": "1m",
            "sim.kubesim.io/fail": "ImagePullBackOff",
            "sim.kubesim.io/logs": "a\nb",
        },
    )
    b = parse_rules(RULES).behaviour(pod, "sidecar")
    assert (b.ready_after, b.run_for, b.fail, b.logs) == (0.5, 60.0, "ImagePullBackOff", "a\nb")


def test_malformed_annotations_are_ignored_not_fatal() -> None:
    pod = _pod(annotations={"sim.kubesim.io/ready-after": "soon", "sim.kubesim.io/fail": "Boom"})
    b = parse_rules(RULES).behaviour(pod, "main")
    assert b.ready_after == 4.0
    assert b.fail is None


def test_shipped_example_rules_file_is_valid() -> None:
    import kubesim.sim

    example = Path(kubesim.sim.__file__).parent / "example-rules.yaml"
    rules = load_rules(example)
    assert rules.timings == Timings()
    install = _pod(namespace="env-3", labels={"app.kubernetes.io/component": "install"})
    assert rules.behaviour(install, "install-mediawiki").run_for == 3.0
    assert rules.behaviour(install, "other").run_for == 1.0
