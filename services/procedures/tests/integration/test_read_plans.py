"""Reading a procedure, or a decision in effect, does not decode whole versions.

Each version keeps what it changed (an amendment against the version before it, a
procedure put in force in place of another against that one), worked out once when it is
made. Before, every read of a procedure compared each of its versions with the one before
it, and every read of a decision the versions it made: decoding those contents was a third
of the procedures API's CPU under load, and grew with each version a procedure gained."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from minhbach_testing.uow import UnitsOfWork, statements
from procedures import services
from procedures.uow import UnitOfWork

from .histories import LATER_SUCCESSOR, SUCCESSOR, make_history


def test_reads_take_what_each_version_changed_from_the_version_not_from_whole_contents(
    units: UnitsOfWork[UnitOfWork], sample_payload: dict[str, Any]
) -> None:
    history = make_history(units, sample_payload)

    with statements(units.engine) as sent, Session(units.engine) as session:
        amended = services.get_procedure(session, history.amended)
        put_in_place = services.get_procedure(session, SUCCESSOR)
        decisions = services.decision_reads(
            session, [history.last_amendment, history.replacing, history.scheduled]
        )

    assert [h.action for h in amended.history] == ["new", "amend", "amend", "amend"]
    befores = [sample_payload["procedures"][0]["processing_time"], *history.times[:-1]]
    assert [[(c.component, c.before, c.after) for c in h.changes or []] for h in amended.history[1:]] == [
        [("processing_time", before, after)] for before, after in zip(befores, history.times, strict=True)
    ]
    entry = put_in_place.history[0]
    assert entry.replaces == history.replaced and {c.component for c in entry.changes or []} == {"name"}
    assert [c.changes for c in decisions[history.last_amendment].changes] == [amended.history[-1].changes]
    new, replace = decisions[history.replacing].changes
    # A scheduled decision's: against the content in force now.
    pending, later, replaced_later = decisions[history.scheduled].changes
    assert [(c.component, c.before, c.after) for c in pending.changes or []] == [
        ("processing_time", history.times[-1], {"value": 44, "unit": "working_days"})
    ]
    assert (later.procedure_code, later.replaces, replaced_later.changes) == (
        LATER_SUCCESSOR,
        sample_payload["procedures"][2]["code"],
        None,
    )
    assert [c.component for c in later.changes or []] == ["name"]
    assert (new.replaces, new.changes, replace.changes) == (history.replaced, entry.changes, None)
    reads = [s for s in sent if s.startswith("SELECT")]
    assert reads, "the reads sent no statement"
    assert not [s for s in reads if "procedure_versions.content" in s], reads
    assert not [s for s in reads if "decision_changes" in s and "procedure_versions" in s], reads
