"""Schema-driven fuzzing of the whole API against its own OpenAPI document (schemathesis).

A real Catalyst (SQLite, kubesim, bundled charts) serves on 127.0.0.1; schemathesis' own
command line (``st run``) reads ``/api/openapi.json`` and runs its examples, coverage,
fuzzing and stateful phases with at most `EXAMPLES` examples per operation and phase,
positive and negative, from a fixed seed. It must find nothing:

- no 5xx (also checked over every recorded answer);
- every answer's status, media type and body as documented (error shape included), a
  405 whose ``Allow`` lists the path's methods, 401 without a token, 4xx for data the
  schema forbids, and a created environment readable at once.

Two checks do not apply, by design:

- ``positive_data_acceptance``: a schema-valid request may still be refused by rules JSON
  Schema does not hold (an unknown ``chartName`` is 422 by the contract, a ``stream``
  without ``/`` 400, an integer beyond 64 bits inside ``values`` 422);
- ``use_after_free``: ``DELETE`` is asynchronous (202, status ``deleting``); the
  environment stays readable until its namespace is gone.

``CATALYST_FUZZ_EXAMPLES`` and ``CATALYST_FUZZ_SEED`` widen or vary a run by hand
(e.g. ``CATALYST_FUZZ_EXAMPLES=300``); the suite's run stays well under a minute.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.support.live import live_catalyst

EXAMPLES = int(os.environ.get("CATALYST_FUZZ_EXAMPLES", "20"))
SEED = os.environ.get("CATALYST_FUZZ_SEED", "8")
RUN_TIMEOUT = max(120.0, 0.8 * EXAMPLES)  # the suite's run takes about 20 s
EXCLUDED_CHECKS = "positive_data_acceptance,use_after_free"


async def run_schemathesis(
    url: str, token: str, workdir: Path
) -> tuple[int, str, dict[str, Any], dict[str, Any]]:
    """Exit code, output, JSON run report and HAR (every request and answer) of one run."""
    report, har = workdir / "schemathesis.json", workdir / "schemathesis.har"
    # cwd=workdir: schemathesis and Hypothesis keep their caches in the working directory.
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "schemathesis.cli", "run", f"{url}/api/openapi.json"),
        *("--header", f"Authorization: ApiToken {token}"),
        *("--max-examples", str(EXAMPLES), "--seed", SEED, "--mode", "all"),
        *("--checks", "all", "--exclude-checks", EXCLUDED_CHECKS),
        *("--generation-database", "none", "--request-timeout", "10", "--workers", "1"),
        *("--report", "json,har", "--report-json-path", str(report)),
        *("--report-har-path", str(har), "--no-color"),
        cwd=workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    return (
        process.returncode or 0,
        output.decode(errors="replace"),
        json.loads(report.read_text()),
        json.loads(har.read_text()),
    )


def answers(har: dict[str, Any]) -> list[tuple[int, str, str]]:
    """(status, method, URL) of every answer schemathesis recorded."""
    return [
        (int(entry["response"]["status"]), entry["request"]["method"], entry["request"]["url"])
        for entry in har["log"]["entries"]
    ]


@pytest.mark.timeout(RUN_TIMEOUT + 60)
async def test_fuzzing_the_openapi_document_finds_no_5xx_and_no_undocumented_answer(
    tmp_path: Path,
) -> None:
    # A short log wait: a fuzzed stream of an existing environment ends quickly.
    async with live_catalyst(
        tmp_path / "data", log_wait_timeout=0.5, watch_stream_timeout_seconds=0.5
    ) as live:
        exit_code, output, report, har = await run_schemathesis(
            live.url, live.admin_token, tmp_path
        )
    answered = answers(har)
    statuses = Counter(status for status, _, _ in answered)
    cases = report["test_cases"]
    print(
        f"schemathesis: {report['operations']['tested']} operations, "
        f"{cases['generated']} test cases, {len(answered)} requests answered "
        f"{dict(sorted(statuses.items()))}, {cases['unique_failures']} failures "
        f"{ {f['code'] + ' ' + f['title']: f['count'] for f in report['failures']} }, "
        f"{len(report['errors'])} errors"
    )
    assert [a for a in answered if a[0] >= 500] == [], output[-6000:]
    assert report["failures"] == [], output[-6000:]
    assert report["errors"] == [], output[-6000:]
    assert exit_code == 0, output[-6000:]
    assert report["operations"]["tested"] == report["operations"]["total"]
    assert cases["generated"] >= 10 * report["operations"]["total"]
