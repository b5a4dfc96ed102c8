"""Shared fixtures: the bundled mediawiki chart, an SDK renderer, Patchdemo's request."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from catalyst.charts import HelmRenderer, bundled_charts_dir
from catalyst.charts.helm_sdk import HelmSdkBackend
from tests.support.patchdemo import PATCHDEMO_VALUES


@pytest.fixture
def patchdemo_values() -> dict[str, Any]:
    return copy.deepcopy(PATCHDEMO_VALUES)


@pytest.fixture
def mediawiki_chart() -> Path:
    return bundled_charts_dir() / "mediawiki"


@pytest.fixture
def sdk_renderer() -> HelmRenderer:
    return HelmRenderer(HelmSdkBackend())
