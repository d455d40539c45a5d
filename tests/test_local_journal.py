"""The local run's journal: what the node agent and kjob append is what a resumed kjob reads back,
read as it grows, and a record cut short by a writer's death never spoils the next one."""

from __future__ import annotations

import os
from pathlib import Path

from kjob.backends.localjournal import LOG, Done, Exit, Journal


def test_what_one_writer_appends_another_reads_back(tmp_path: Path) -> None:
    agent, kjob = Journal(tmp_path).ensure(), Journal(tmp_path)
    agent.set_started("a-0", pid=41, agent=40, at=1.5)
    agent.set_exited("a-0", Exit(3, 2.5, timed_out=True, stopped="stopped"), b"last words\xff")
    done = Done(
        "Failed", 1.5, 2.5, exit_code=3, result="last words", parameters={"p": "v"}, missing_outputs=["q"]
    )
    kjob.set_done("a-0", done)
    reader = Journal(tmp_path).refresh()
    assert reader.started("a-0") == {"pid": 41, "agent": 40, "started": 1.5}
    assert reader.exited("a-0") == Exit(3, 2.5, timed_out=True, stopped="stopped")
    assert reader.tail("a-0") == b"last words\xff"
    assert reader.done("a-0") == done
    assert reader.started("b-0") is None and reader.exited("b-0") is None and reader.done("b-0") is None


def test_a_reader_takes_only_what_was_appended_since_it_last_looked(tmp_path: Path) -> None:
    writer, reader = Journal(tmp_path).ensure(), Journal(tmp_path)
    writer.set_started("a-0", pid=41, agent=40, at=1.0)
    assert reader.refresh().exited("a-0") is None
    writer.set_exited("a-0", Exit(0, 2.0), b"")
    assert reader.refresh().exited("a-0") == Exit(0, 2.0)
    assert reader.tail("a-0") == b""  # nothing written, no file
    assert not (tmp_path / "a-0.tail").exists()


def test_a_record_cut_short_is_skipped_and_the_next_one_read(tmp_path: Path) -> None:
    writer = Journal(tmp_path).ensure()
    writer.set_started("a-0", pid=41, agent=40, at=1.0)
    with open(tmp_path / LOG, "ab") as log:  # a writer killed in the middle of its write
        log.write(b'\n{"exit": "a-0", "code": 0, "fin')
    reader = Journal(tmp_path).refresh()
    assert reader.exited("a-0") is None  # an unfinished line is not read yet
    Journal(tmp_path).set_exited("b-0", Exit(1, 3.0), b"")
    reader.refresh()
    assert reader.exited("a-0") is None
    assert reader.exited("b-0") == Exit(1, 3.0)
    assert reader.started("a-0") == {"pid": 41, "agent": 40, "started": 1.0}


def test_writers_append_whole_records_through_their_own_descriptors(tmp_path: Path) -> None:
    first, second = Journal(tmp_path).ensure(), Journal(tmp_path)
    for n in range(50):
        first.set_started(f"a-{n}", pid=n, agent=1, at=float(n))
        second.set_exited(f"a-{n}", Exit(0, float(n)), b"")
    first.close()
    second.close()
    reader = Journal(tmp_path).refresh()
    assert all(reader.started(f"a-{n}") is not None and reader.exited(f"a-{n}") for n in range(50))
    assert os.path.getsize(tmp_path / LOG) > 0
