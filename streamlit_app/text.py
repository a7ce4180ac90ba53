"""User-supplied strings in Markdown: `literal(value)` is Markdown source that shows `value` as it is.

customerIds, widget versions, error types, alert titles and messages, actor names come
from widgets and users. Streamlit renders Markdown (and its own `:red[...]`, `:material/x:`
and `$LaTeX$`) in `st.markdown`, `st.caption`, `st.info`/`warning`/`error`/`success`,
`st.write` of a string and widget labels, so a customerId `[Sign in](https://evil.example)`
would be a live link and `![x](https://evil.example/p.png)` a request from every viewer's
browser. Streamlit has no escape of its own; this is the one the dashboard uses.

Where a string stands alone, `st.text` or a `st.dataframe` cell shows it without any parsing
and needs none of this. Selectbox options are plain text in Streamlit 1.67 (escaping them
would show the backslashes); their widget label is Markdown, so it stays a fixed string.
"""

from __future__ import annotations

import re

# Every character Markdown syntax is made of: links, images, emphasis, code, HTML, entities,
# tables, lists, headings, strikethrough, and Streamlit's `:directives[...]`, `:emoji:` and
# `$LaTeX$`. CommonMark lets any ASCII punctuation be backslash-escaped, and an escaped one is
# never syntax; the rest (`,;/?@^%'"`) starts nothing, so stays as it is.
_MARKDOWN_SYNTAX = re.compile(r"([\\`*_\[\](){}#+\-.!|<>~:$&=])")
# GitHub's autolinks are found in the text *after* escapes are undone (remark-gfm), so
# `https\://evil\.example` would still become a link: a WORD JOINER (U+2060, invisible,
# no width) between `:` and `//`, after `www` and after `@` keeps the text from looking
# like a URL or an e-mail address to it.
_AUTOLINK = re.compile(r"(?i)(?<=:)(?=//)|(?<=www)(?=\.)|(?<=@)")
WORD_JOINER = "\u2060"


def literal(value: object) -> str:
    """Markdown that renders as exactly `str(value)`: its syntax characters escaped, no autolink.

    >>> print(literal("[Sign in](https://evil.example/login)").replace(WORD_JOINER, "<WJ>"))
    \\[Sign in\\]\\(https\\:<WJ>//evil\\.example/login\\)
    >>> print(literal("acme-eu 2.4.1"))
    acme\\-eu 2\\.4\\.1
    """
    return _MARKDOWN_SYNTAX.sub(r"\\\1", _AUTOLINK.sub(WORD_JOINER, str(value)))
