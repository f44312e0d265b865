"""``LlanaJSONParser``: the JSON request bodies of every llana endpoint, parsed strictly and within bounds.

DRF reads the body from the request stream, so Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` never applies to
it. This parser reads at most ``LLANA["MAX_BODY_BYTES"]`` (a bigger body is a 413, also when it comes
without a ``Content-Length``), and refuses with a 400 ``ParseError`` what Python's ``json`` accepts but the
rest of the request cannot handle:

- nesting deeper than ``LLANA["MAX_JSON_DEPTH"]`` (about 1,000 levels raised ``RecursionError``);
- a lone surrogate (``"\\ud800"``): not Unicode, it raised ``UnicodeEncodeError`` where the string was
  written (password hashing, the database);
- ``NaN`` / ``Infinity`` (not JSON), as DRF's strict parser does.

The limits and their defaults: ``docs/security.md``, "Input limits".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer

from llana.exceptions import body_too_large
from llana.settings import llana_settings

SURROGATE = re.compile("[\ud800-\udfff]")


def max_body_bytes() -> int:
    return int(llana_settings.MAX_BODY_BYTES)


def max_json_depth() -> int:
    return int(llana_settings.MAX_JSON_DEPTH)


def read_bounded(stream: IO[bytes], limit: int) -> bytes:
    """The whole stream, or ``PayloadTooLarge`` (413) as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(limit + 1 - total)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            raise body_too_large(limit)
        chunks.append(chunk)


def reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def too_deep(limit: int) -> ParseError:
    return ParseError(f"JSON parse error - nested deeper than {limit} levels (LLANA['MAX_JSON_DEPTH'])")


def check_string(text: str) -> None:
    if not text.isascii() and SURROGATE.search(text):
        raise ParseError("JSON parse error - a string holds a lone surrogate (such as \\ud800): not valid Unicode")


def check_value(value: Any, max_depth: int) -> None:
    """Raise ``ParseError`` for nesting deeper than ``max_depth`` or a lone surrogate (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            check_string(item)
        elif isinstance(item, list | Mapping):
            if depth > max_depth:
                raise too_deep(max_depth)
            if isinstance(item, Mapping):
                for key, child in item.items():
                    check_string(key)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


def loads(raw: bytes, encoding: str = "utf-8") -> Any:
    """Parse a JSON body: ``ParseError`` for invalid, too deep or not-Unicode input."""
    limit = max_json_depth()
    try:
        text = raw.decode(encoding)
        data = json.loads(text, parse_constant=reject_constant)
    except RecursionError:
        raise too_deep(limit) from None
    except (ValueError, LookupError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ParseError(f"JSON parse error - {exc}") from None
    check_value(data, limit)
    return data


class LlanaJSONParser(BaseParser):
    """DRF's ``JSONParser`` with a bounded read, a depth limit and no lone surrogates."""

    media_type = "application/json"
    renderer_class = JSONRenderer

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        return loads(read_bounded(stream, max_body_bytes()), encoding)
