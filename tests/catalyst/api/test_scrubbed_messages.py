"""Secret values never come back in cluster messages (issue 8, part 4): a real Catalyst.

A chart that puts a secret value into an object name gets a cluster rejection, or a failed
object, whose message names that object. The message must reach ``statusMessage``, the
``status_changes`` rows, ``?latestStatus=1``'s ``resources`` and the service log with the
value replaced by ``***``, as Helm render errors already are.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalyst.store.environments import EnvironmentRepository
from tests.support.live import LiveCatalyst, live_catalyst

WAIT = 30.0
REJECTED_TOKEN = "Leaked-Token-Value"  # not a valid object name: the server refuses it
FAILING_PASSWORD = "hunter2pw"  # a valid name part: the object is created and then fails

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: leaky\nversion: 0.1.0\ndescription: Leaks values\n",
    "values.yaml": "rejected:\n  token: ''\nfailing:\n  password: ''\n",
    "templates/rejected.yaml": """\
{{- if .Values.rejected.token }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Values.rejected.token | quote }}
data: {}
{{- end }}
""",
    "templates/failing.yaml": """\
{{- if .Values.failing.password }}
apiVersion: batch/v1
kind: Job
metadata:
  name: job-{{ .Values.failing.password }}
spec:
  backoffLimit: 0
  template:
    metadata:
      annotations:
        sim.kubesim.io/fail: ExitError
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox:1.36
{{- end }}
""",
}


def write_chart(charts_dir: Path) -> Path:
    for name, text in CHART.items():
        path = charts_dir / "leaky" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return charts_dir


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"ApiToken {token}"}


async def failed_environment(
    live: LiveCatalyst, client: httpx.AsyncClient, name: str, values: dict[str, Any]
) -> dict[str, Any]:
    headers = auth(live.alice_token)
    created = await client.post(
        "/api/environments",
        json={"name": name, "chartName": "leaky", "values": values},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    env_id = created.json()["id"]
    async with asyncio.timeout(WAIT):
        while True:
            body = (await client.get(f"/api/environments/{env_id}", headers=headers)).json()
            if body["status"] == "failed":
                return dict(body)
            await asyncio.sleep(0.1)


async def stored_messages(live: LiveCatalyst, env_id: int) -> list[str]:
    assert live.catalyst.database is not None
    repository = EnvironmentRepository(live.catalyst.database)
    record = await repository.get(env_id)
    assert record is not None
    changes = await repository.list_status_changes(env_id)
    return [record.status_message, record.operation_error or ""] + [c.message for c in changes]


def catalyst_log(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(
        record.getMessage() for record in caplog.records if record.name.startswith("catalyst")
    )


@pytest.fixture
async def live(tmp_path: Path) -> Any:
    charts = write_chart(tmp_path / "charts")
    async with live_catalyst(tmp_path / "data", charts_dir=str(charts)) as live:
        yield live


async def test_a_rejection_naming_a_secret_is_scrubbed_everywhere(
    live: LiveCatalyst, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="catalyst")
    async with httpx.AsyncClient(base_url=live.url, timeout=WAIT) as client:
        body = await failed_environment(
            live, client, "wiki-rejected", {"rejected": {"token": REJECTED_TOKEN}}
        )
    assert body["statusReason"] == "ApplyFailed"
    assert "***" in body["statusMessage"]
    assert REJECTED_TOKEN not in body["statusMessage"]
    stored = await stored_messages(live, body["id"])
    assert any("***" in message for message in stored)
    assert not [m for m in stored if REJECTED_TOKEN in m]
    assert "***" in catalyst_log(caplog)
    assert REJECTED_TOKEN not in catalyst_log(caplog)


async def test_a_failed_object_named_after_a_secret_is_scrubbed_everywhere(
    live: LiveCatalyst, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="catalyst")
    async with httpx.AsyncClient(base_url=live.url, timeout=WAIT) as client:
        body = await failed_environment(
            live, client, "wiki-failing", {"failing": {"password": FAILING_PASSWORD}}
        )
        latest = await client.get(
            f"/api/environments/{body['id']}",
            params={"latestStatus": "1"},
            headers=auth(live.alice_token),
        )
    assert latest.status_code == 200
    assert "job-***" in body["statusMessage"]
    assert FAILING_PASSWORD not in latest.text
    assert "job-***" in {resource["name"] for resource in latest.json()["resources"]}
    stored = await stored_messages(live, body["id"])
    assert not [m for m in stored if FAILING_PASSWORD in m]
    assert FAILING_PASSWORD not in catalyst_log(caplog)
