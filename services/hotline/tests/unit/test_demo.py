"""The demo's answered questions (issue 14: a newcomer's first look is not empty): taken
through the service's own use cases, published with consent, disclosed through the outbox
like any other answer, and loaded only into a database without tickets."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from hotline import demo, services
from hotline.deadlines import WorkingCalendar
from hotline.domain import Deadlines
from hotline.uow import UnitOfWork
from minhbach_testing.plugin import shared_dir
from minhbach_testing.uow import UnitsOfWork

POLICY = services.Policy(calendar=WorkingCalendar(), deadlines=Deadlines())
NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def load(units: UnitsOfWork[UnitOfWork]) -> int:
    sample = demo.SampleProcedures.from_file(shared_dir() / "data" / "procedures-sample.json")
    return demo.load_demo_answers(units, procedures=sample, now=NOW, policy=POLICY)


def test_the_demo_publishes_answered_questions_once(units: UnitsOfWork[UnitOfWork]):
    assert load(units) == len(demo.QUESTIONS) >= 3
    with Session(units.engine) as session:
        answers = services.public_answers(session, q=None, procedure_code=None, page=1, size=50).items
    assert len(answers) == len(demo.QUESTIONS)
    for answer in answers:
        assert answer.answer and answer.question
        for text in (answer.subject, answer.question, answer.answer):
            assert unicodedata.is_normalized("NFC", text)
        # The caller's name and phone stay with the hotline.
        assert not any(q.name in answer.question or q.phone in answer.question for q in demo.QUESTIONS)
    assert {a.procedure_code for a in answers} >= {"MB.XD.001", "MB.XD.004", None}
    published = [e for e in units.outbox() if e["type"] == "ticket.published"]
    assert len(published) == len(demo.QUESTIONS) and units.wakes.count > 0
    # Loaded again: nothing added, nothing sent.
    before = len(units.outbox())
    assert load(units) == 0
    assert len(units.outbox()) == before


def test_sample_procedures_are_the_codes_of_the_sample_file(tmp_path):
    path = tmp_path / "procedures.json"
    path.write_text(json.dumps({"procedures": [{"code": "MB.XD.001"}]}), encoding="utf-8")
    sample = demo.SampleProcedures.from_file(path)
    assert sample.exists("MB.XD.001") and not sample.exists("MB.XD.999")
