"""`helm lint --strict` (Helm's own checks) passes for the bundled chart in both request shapes."""

from __future__ import annotations

import asyncio

import helm_python as helm
import pytest

from tests.support.patchdemo import PATCHDEMO_VALUES

ERROR = 3
WARNING = 2


@pytest.mark.parametrize(
    "values",
    [
        {},
        PATCHDEMO_VALUES,
        {"extensions": {"Echo": {"enable": "true"}}, "skins": {"Vector": {"use": "false"}}},
    ],
    ids=["defaults", "patchdemo-arrays", "name-keyed-maps"],
)
async def test_chart_passes_strict_lint(mediawiki_chart, values):
    report = await asyncio.to_thread(
        helm.lint, mediawiki_chart, values, strict=True, namespace="env-1"
    )

    problems = [m for m in report["messages"] if m["severity"] >= WARNING]
    assert report["errors"] == []
    assert problems == []
