"""What an identifier may hold: any Unicode but control characters, up to a length.

Identifiers (`customerId`, `widgetVersion`, `sessionId`, … key and token names, an
actor's note) end up in log lines, alert titles, e-mail subjects and the dashboard.
Control characters are what forges a log line or a mail header there: C0 (including
CR/LF and TAB), DEL, C1, and the Unicode line and paragraph separators. Invisible marks
are what makes one name look like another: zero-width characters (U+200B-U+200F,
U+2060-U+2064, U+FEFF), bidirectional overrides and isolates (U+202A-U+202E,
U+2066-U+2069, U+061C) and the soft hyphen: `acme\u202egnp.exe` shows as `acmeexe.png`.
Free text (`errorMessage`) may hold newlines; it is only length-capped.
"""

from __future__ import annotations

import re

MAX_IDENTIFIER_LENGTH = 256
MAX_TEXT_LENGTH = 4096

_CONTROL = re.compile("[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]")
INVISIBLE_MARKS = "\\u00ad\\u061c\\u180e\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff"
_NOT_IN_IDENTIFIERS = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029{INVISIBLE_MARKS}]")
CONTROL_MESSAGE = (
    "holds a control character (C0 such as CR, LF, TAB; DEL; C1; U+2028/9) or an invisible mark "
    "(zero-width, bidirectional): one line of visible text only"
)


def has_control(value: str) -> bool:
    """Whether `value` holds a character an identifier may not.

    >>> has_control("acme"), has_control("acme\\n"), has_control("a\\u2028b"), has_control("acme\\u202egnp")
    (False, True, True, True)
    """
    return _NOT_IN_IDENTIFIERS.search(value) is not None


def identifier_problem(value: str, *, max_length: int = MAX_IDENTIFIER_LENGTH) -> str | None:
    """Why `value` is not a valid identifier, or None when it is.

    >>> identifier_problem("acme-eu 🚀") is None
    True
    >>> identifier_problem("acme\\r\\nINFO forged")
    'holds a control character (U+000D): identifiers are one line of text'
    >>> identifier_problem("acme\\u200b")
    'holds an invisible mark (U+200B): identifiers are visible text'
    """
    if not value:
        return "is empty"
    if len(value) > max_length:
        return f"is {len(value)} characters long, over the limit of {max_length}"
    found = _NOT_IN_IDENTIFIERS.search(value)
    if found is None:
        return None
    if _CONTROL.match(found.group()):
        return f"holds a control character (U+{ord(found.group()):04X}): identifiers are one line of text"
    return f"holds an invisible mark (U+{ord(found.group()):04X}): identifiers are visible text"


def one_line(text: str) -> str:
    """`text` made safe for one log line: control characters and invisible marks escaped, nothing
    dropped.

    >>> one_line("disk full\\nINFO all good")
    'disk full\\\\nINFO all good'
    """
    if _NOT_IN_IDENTIFIERS.search(text) is None:
        return text
    return _NOT_IN_IDENTIFIERS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
