"""``--values FILE|-``: YAML or JSON, a file or standard input, a mapping or a clear error."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from catalyst.client.values import ValuesError, read_values


def test_yaml_json_and_nothing(tmp_path: Path) -> None:
    (tmp_path / "v.yaml").write_text("web:\n  replicas: 2\nsince: 2024-01-02\n")
    (tmp_path / "v.json").write_text('{"web": {"replicas": 2}, "use": "true"}')
    (tmp_path / "empty.yaml").write_text("")
    assert read_values(str(tmp_path / "v.yaml")) == {
        "web": {"replicas": 2},
        "since": "2024-01-02",  # a string, as Helm reads it
    }
    assert read_values(str(tmp_path / "v.json")) == {"web": {"replicas": 2}, "use": "true"}
    assert read_values(str(tmp_path / "empty.yaml")) == {}
    assert read_values(None) == {}


def test_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a: 1\n"))
    assert read_values("-") == {"a": 1}


@pytest.mark.parametrize(
    ("text", "message"),
    [("- a\n- b\n", "must be a mapping, not a list"), ("a: [\n", "neither YAML nor JSON")],
)
def test_what_is_not_a_mapping_is_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValuesError, match=message):
        read_values(str(path))


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValuesError, match=r"cannot read values from .*nope\.yaml"):
        read_values(str(tmp_path / "nope.yaml"))
