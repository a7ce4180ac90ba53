"""What an identifier may hold: any Unicode but control characters, up to a length.

Identifiers (`customerId`, `widgetVersion`, `sessionId`, … key and token names, an
actor's note) end up in log lines, alert titles, e-mail subjects and the dashboard.
Control characters are what forges a log line or a mail header there: C0 (including
CR/LF and TAB), DEL, C1, and the Unicode line and paragraph separators. Free text
(`errorMessage`) may hold newlines; it is only length-capped.
"""

from __future__ import annotations

import re

MAX_IDENTIFIER_LENGTH = 256
MAX_TEXT_LENGTH = 4096

_CONTROL = re.compile("[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]")
CONTROL_MESSAGE = (
    "holds a control character (C0 such as CR, LF, TAB; DEL; C1; U+2028/9): one line of text only"
)


def has_control(value: str) -> bool:
    """Whether `value` holds a character an identifier may not.

    >>> has_control("acme"), has_control("acme\\n"), has_control("a\\u2028b")
    (False, True, True)
    """
    return _CONTROL.search(value) is not None


def identifier_problem(value: str, *, max_length: int = MAX_IDENTIFIER_LENGTH) -> str | None:
    """Why `value` is not a valid identifier, or None when it is.

    >>> identifier_problem("acme-eu 🚀") is None
    True
    >>> identifier_problem("acme\\r\\nINFO forged")
    'holds a control character (U+000D): identifiers are one line of text'
    """
    if not value:
        return "is empty"
    if len(value) > max_length:
        return f"is {len(value)} characters long, over the limit of {max_length}"
    found = _CONTROL.search(value)
    if found is not None:
        return f"holds a control character (U+{ord(found.group()):04X}): identifiers are one line of text"
    return None


def one_line(text: str) -> str:
    """`text` made safe for one log line: control characters escaped, nothing dropped.

    >>> one_line("disk full\\nINFO all good")
    'disk full\\\\nINFO all good'
    """
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
