"""Deploy errors are scrubbed of the environment's secret values before they are stored or
logged, whether the environment fails (a refusal) or the operation is retried (the cluster
could not be reached): the cluster's words name objects, and a chart can name an object
after a secret value."""

from __future__ import annotations

import logging

import pytest

from catalyst.cluster import ClusterConnectionError, ClusterError, DeployError
from catalyst.service.redaction import scrub_message
from tests.support.service_harness import Harness

SECRET = "hunter2pw"
VALUES = {"db": {"password": SECRET}}


def catalyst_log(caplog: pytest.LogCaptureFixture) -> str:
    # Tracebacks included: the runner logs a retried operation's exception with its stack.
    return "\n".join(
        caplog.handler.format(record)
        for record in caplog.records
        if record.name.startswith("catalyst")
    )


async def test_a_refusal_naming_a_secret_is_stored_and_logged_scrubbed(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="catalyst")
    refused = ClusterError(422, "Invalid", f'ConfigMap "cm-{SECRET}" is invalid')
    harness.deployer.errors.append(
        DeployError(f"ConfigMap env-1/cm-{SECRET} (v1) was rejected: {refused}", cause=refused)
    )
    record = await harness.environments.create(
        caller=harness.alice, name="wiki", chart_name="mediawiki", values=VALUES
    )
    await harness.settle()
    stored = await harness.repo.get(record.id)
    assert stored is not None
    assert stored.status == "failed"
    assert "cm-***" in stored.status_message
    changes = await harness.repo.list_status_changes(record.id)
    texts = [stored.status_message, stored.operation_error or ""] + [c.message for c in changes]
    assert not [text for text in texts if SECRET in text]
    assert "cm-***" in catalyst_log(caplog)
    assert SECRET not in catalyst_log(caplog)


async def test_a_retried_operation_is_logged_scrubbed(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="catalyst")
    unreachable = ClusterConnectionError(f"PATCH /api/v1/namespaces/env-1/configmaps/cm-{SECRET}")
    harness.deployer.errors.append(
        DeployError(f"ConfigMap env-1/cm-{SECRET} (v1): {unreachable}", cause=unreachable)
    )
    record = await harness.environments.create(
        caller=harness.alice, name="wiki", chart_name="mediawiki", values=VALUES
    )
    await harness.settle()
    stored = await harness.repo.get(record.id)
    assert stored is not None
    assert stored.applied_revision == stored.revision  # the retry went through
    assert "operation interrupted (" in catalyst_log(caplog)
    assert "cm-***" in catalyst_log(caplog)
    assert SECRET not in catalyst_log(caplog)


def test_a_secret_is_masked_as_written_and_as_the_api_server_quotes_it() -> None:
    values = {"auth": {"token": 'a"b\\c'}, "web": {"password": "pw"}, "name": "pw-not-secret"}
    message = 'metadata.name: Invalid value: "a\\"b\\\\c": bad; label a"b\\c; pw-not-secret'
    assert scrub_message(message, values) == (
        'metadata.name: Invalid value: "***": bad; label ***; ***-not-secret'
    )
    assert scrub_message("nothing to hide", {"auth": {"token": ""}}) == "nothing to hide"
