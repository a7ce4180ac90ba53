"""The command line's progress bar: redrawn on a terminal, a line per tenth anywhere else."""

from __future__ import annotations

import io
import os
import pty

from widget_monitor.progress import Progress


def test_on_a_terminal_the_bar_is_one_line_redrawn() -> None:
    main, side = pty.openpty()
    try:
        with os.fdopen(side, "w") as terminal:  # closed once written: the reads below end
            bar = Progress("importing", 200, terminal, width=4)
            for done in range(0, 201, 20):
                bar.show(done)
            bar.done("stored 200")
        written = _all_of(main)
    finally:
        os.close(main)
    redraws = written.replace("\r\n", "\n").split("\r")  # (the terminal sends a newline as CR LF)
    assert len(redraws) == 1 + 1 + 11 + 1  # before the first; drawn at 0; each show; at done
    assert redraws[0] == "" and "\n" not in "".join(redraws[:-1])
    assert redraws[-1] == "importing [####] 200/200 events\nstored 200\n"


def _all_of(terminal: int) -> str:
    """Everything written to the other side of a pseudo-terminal, up to its close."""
    chunks = []
    while True:
        try:
            chunk = os.read(terminal, 65536)
        except OSError:  # EIO: the other side is closed and everything read
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode()


def test_in_a_log_a_line_per_tenth() -> None:
    log = io.StringIO()
    bar = Progress("exporting", 1000, log, width=10)
    for done in range(0, 1001):
        bar.show(done)
    bar.done("exported 1000")
    lines = log.getvalue().splitlines()
    assert lines == [f"exporting [{'#' * t}{'.' * (10 - t)}] {100 * t}/1000 events" for t in range(11)] + [
        "exported 1000"
    ]
