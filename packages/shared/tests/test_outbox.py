"""The outbox relay against a real SQLite file and a real redis-server."""

import base64
import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from minhbach_shared import names
from minhbach_shared.celery import make_celery
from minhbach_shared.db import WRITE, make_engine, make_metadata
from minhbach_shared.events import Envelope
from minhbach_shared.observability import correlation_id
from minhbach_shared.outbox import OutboxRelay, add_events, celery_sender, outbox_table
from minhbach_shared.settings import BaseServiceSettings


@pytest.fixture
def outbox(tmp_path):
    metadata = make_metadata()
    table = outbox_table(metadata)
    engine = make_engine(f"sqlite:///{tmp_path}/svc.db")
    metadata.create_all(engine)
    return engine, table


def events(n, start=1):
    return [
        Envelope(
            type="procedure.amended",
            source="procedures",
            subject={"kind": "procedure", "id": "MB.XD.001"},
            version=v,
        )
        for v in range(start, start + n)
    ]


def write(engine, table, batch, *, commit=True):
    with Session(engine) as session:
        session.connection(execution_options=WRITE)
        add_events(session, table, batch)
        if commit:
            session.commit()


def queued_envelopes(redis):
    """Decode the Celery messages waiting on the events queue."""
    out = []
    for raw in reversed(redis.lrange(names.EVENTS_QUEUE, 0, -1)):
        message = json.loads(raw)
        assert message["headers"]["task"] == names.INGEST_TASK
        args, _, _ = json.loads(base64.b64decode(message["body"]))
        out.extend(args[0])
    return out


def make_sender(redis_server):
    settings = BaseServiceSettings(redis_url=redis_server.url)
    return celery_sender(make_celery("test", settings, queues=[names.EVENTS_QUEUE]))


def test_events_of_a_rolled_back_change_never_leave(outbox, redis_server):
    engine, table = outbox
    write(engine, table, events(3), commit=False)
    relay = OutboxRelay(engine=engine, table=table, send=make_sender(redis_server))
    assert relay.drain() == 0
    assert redis_server.client().llen(names.EVENTS_QUEUE) == 0


def test_relay_sends_in_order_in_one_message_and_marks_sent(outbox, redis_server):
    engine, table = outbox
    token = correlation_id.set("req-42")
    try:
        write(engine, table, events(5))
    finally:
        correlation_id.reset(token)
    relay = OutboxRelay(engine=engine, table=table, send=make_sender(redis_server))
    assert relay.drain() == 5
    redis = redis_server.client()
    assert redis.llen(names.EVENTS_QUEUE) == 1  # one message carries the batch
    sent = queued_envelopes(redis)
    assert [e["version"] for e in sent] == [1, 2, 3, 4, 5]
    assert {e["correlation_id"] for e in sent} == {"req-42"}
    assert relay.drain() == 0  # nothing sent twice once marked


def test_relay_killed_between_send_and_mark_sends_again(outbox, redis_server):
    engine, table = outbox
    write(engine, table, events(2))
    real_send = make_sender(redis_server)

    def send_then_die(envelopes):
        real_send(envelopes)
        raise KeyboardInterrupt("killed before marking sent")

    with pytest.raises(KeyboardInterrupt):
        OutboxRelay(engine=engine, table=table, send=send_then_die).drain()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).where(table.c.sent_at.is_(None))).scalar() == 2

    OutboxRelay(engine=engine, table=table, send=real_send).drain()
    sent = queued_envelopes(redis_server.client())
    # at least once: the batch went twice, with the same event ids, for the consumer to drop
    assert len(sent) == 4
    assert len({e["id"] for e in sent}) == 2


def test_a_batch_names_its_events_correlation_ids_once_each_in_order():
    from minhbach_shared.outbox import MAX_BATCH_CORRELATIONS, batch_correlation

    assert batch_correlation([{"correlation_id": "a"}, {"correlation_id": "a"}]) == "a"
    assert (
        batch_correlation([{"correlation_id": "b"}, {"correlation_id": None}, {"correlation_id": "a"}])
        == "b,a"
    )
    assert batch_correlation([{"id": 1}]) is None
    many = [{"correlation_id": f"r{i}"} for i in range(MAX_BATCH_CORRELATIONS + 3)]
    assert batch_correlation(many).endswith(f"r{MAX_BATCH_CORRELATIONS - 1},+3 more")
