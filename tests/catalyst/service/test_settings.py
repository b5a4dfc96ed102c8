"""`Settings`: environment variables, derived defaults and the domain thresholds."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from catalyst.config import Settings, settings_markdown_table


def test_defaults_are_the_embedded_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("CATALYST_")]:
        monkeypatch.delenv(name)
    settings = Settings()
    assert (settings.host, settings.port, settings.max_body_bytes) == ("127.0.0.1", 8000, 1 << 20)
    assert settings.uses_embedded_cluster()
    assert settings.resolved_database_url().startswith("sqlite+aiosqlite:///")
    assert settings.resolved_database_url().endswith("/var/catalyst.db")


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CATALYST_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CATALYST_KUBECONFIG", "/etc/kube/config")
    monkeypatch.setenv("CATALYST_STATUS_CREATE_TIMEOUT", "0.5")
    monkeypatch.setenv("CATALYST_STATUS_CRASH_RESTARTS", "7")
    settings = Settings()
    assert not settings.uses_embedded_cluster()
    assert settings.embedded_kubeconfig_path() == tmp_path.resolve() / "kubesim.kubeconfig"
    thresholds = settings.status_thresholds()
    assert thresholds.create_timeout == timedelta(seconds=0.5)
    assert thresholds.crash_n == 7
    assert thresholds.expiry == timedelta(days=3)


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATALYST_PORT", "70000")
    with pytest.raises(ValidationError):
        Settings()


def test_every_setting_is_documented() -> None:
    table = settings_markdown_table()
    for name, field in Settings.model_fields.items():
        assert field.description, name
        assert f"CATALYST_{name.upper()}" in table


def test_the_readme_configuration_table_is_the_generated_one() -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    for row in settings_markdown_table().splitlines():
        assert row in readme, f"README.md lacks (or has an outdated) row: {row}"
