"""The Engine.IO layer runs on asyncio alone: importing all of ``llana_realtime.engineio`` loads neither
Django nor Channels (only ``llana_realtime.channels`` adapts it to them)."""

from __future__ import annotations

import subprocess
import sys


def test_engineio_layer_imports_neither_django_nor_channels() -> None:
    code = (
        "import sys, importlib, pkgutil, llana_realtime.engineio as e\n"
        "[importlib.import_module('llana_realtime.engineio.' + m.name) for m in pkgutil.iter_modules(e.__path__)]\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'channels', 'daphne', 'rest_framework')"
        " or m.startswith('llana_realtime.channels') or m == 'llana' or m.startswith('llana.'))\n"
        "print(','.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
