"""One DuckDB transaction: committed when the block ends, rolled back when it raises."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb


@contextmanager
def transaction(cur: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """`cur` inside a transaction (a failed commit is rolled back too).

    >>> con = duckdb.connect()
    >>> con.execute("CREATE TABLE t (i INTEGER)") and None
    >>> try:
    ...     with transaction(con) as cur:
    ...         cur.execute("INSERT INTO t VALUES (1)") and None
    ...         raise ValueError("changed my mind")
    ... except ValueError:
    ...     pass
    >>> con.execute("SELECT count(*) FROM t").fetchone()
    (0,)
    """
    cur.begin()
    try:
        yield cur
        cur.commit()
    except BaseException:
        cur.rollback()
        raise


def count_of(cur: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> int:
    """The one number a statement answers: the rows a DELETE, UPDATE or INSERT changed, a count(*)."""
    row = cur.execute(sql, params).fetchone()
    return int(row[0]) if row else 0
