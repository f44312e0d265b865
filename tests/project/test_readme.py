"""The README's code a newcomer copies: the Python client is a complete script, shell examples use no fixed ids."""

from __future__ import annotations

import ast
import re
from pathlib import Path

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.DOTALL)


def test_the_python_client_example_is_a_complete_script() -> None:
    (client,) = [block for block in blocks("python") if "socketio.AsyncClient" in block]
    tree = ast.parse(client)  # no top-level `await`: it runs as a file
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert {"asyncio", "socketio"} <= imported
    assert "asyncio.run(main())" in client
    assert "pip install python-socketio aiohttp" in README
    assert "asyncio_client" not in README


def test_shell_examples_set_their_variables_and_use_no_fixed_row_ids() -> None:
    for block in blocks("sh"):
        if "$TOKEN" in block:
            assert "TOKEN=$(" in block
        assert not re.search(r"/(Customer|SalesOrder|Employee)/\d", block), block
        assert not re.search(r'"userId": \d', block), block


def test_offset_takes_a_number() -> None:
    assert "**`offset`** takes a number" in README
