"""JSON from users with its depth and number sizes bounded, so hostile input is a clear error, not a crash.

``json.loads`` recurses once per nesting level (a list nested 1,200 deep raises RecursionError) and converts a
5,000-digit integer only to stop at Python's int-conversion limit with a ValueError of its own. Keypoint files and
form fields hold 18 pairs of pixel coordinates in a few levels of lists and objects, so much tighter bounds lose
nothing real and turn both into one ``ValueError`` whose text says what was too large.
"""

from __future__ import annotations

import json

MAX_DEPTH = 64  # a COCO file nests 4 levels; an OpenPose file 3
MAX_NUMBER_CHARS = 40  # "-1.2345678901234567e+308" is 24 characters


def _depth_ok(text: str) -> bool:
    """Whether no bracket nests deeper than MAX_DEPTH (strings skipped; a linear scan, no recursion)."""
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def _number(kind):
    def parse(token: str):
        if len(token) > MAX_NUMBER_CHARS:
            raise ValueError(f"a number of {len(token)} characters (at most {MAX_NUMBER_CHARS})")
        return kind(token)

    return parse


def _no_constant(token: str):
    raise ValueError(f"{token} is not a number JSON allows")


def loads_bounded(text: str):
    """``json.loads(text)`` with nesting at most :data:`MAX_DEPTH` and numbers of at most :data:`MAX_NUMBER_CHARS`
    characters (NaN and Infinity refused). Raises ``json.JSONDecodeError`` on syntax errors and ``ValueError``
    (whose text names the bound) on input past the bounds."""
    if not _depth_ok(text):
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    return json.loads(text, parse_int=_number(int), parse_float=_number(float), parse_constant=_no_constant)
