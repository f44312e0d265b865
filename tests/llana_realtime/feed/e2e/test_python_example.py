"""``examples/realtime_client.py`` (the README's Python client) runs as written against a daphne process."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from tests.llana_realtime.feed.e2e.conftest import Project
from tests.llana_realtime.feed.e2e.support import claims, create_customer, login

pytestmark = pytest.mark.slow
SCRIPT = Path(__file__).resolve().parents[4] / "examples" / "realtime_client.py"


async def run_example(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, str(SCRIPT), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )


async def test_the_example_prints_the_event_of_a_write(feed_server: Project) -> None:
    process = await run_example("--url", feed_server.url, "--table", "Customer", "--count", "1")
    try:
        assert process.stdout is not None
        first = await asyncio.wait_for(process.stdout.readline(), 60)
        assert first.decode().strip() == "following Customer", (first, await process.stderr.read())
        token = login(feed_server.url)
        pk = await create_customer(feed_server.url, token, int(claims(token)["sub"]))
        out, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()
    assert json.loads(out.decode().strip()) == {"type": "INSERT", "custId": pk}


async def test_the_example_prints_a_refusal(feed_server: Project) -> None:
    process = await run_example("--url", feed_server.url, "--table", "NoSuchTable")
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1
    assert "refused: Table NoSuchTable not found" in err.decode()
