"""Fixtures: a migrated SQLite copy, a redis-server, the notifier's parts with fake owners."""

from __future__ import annotations

import pytest

from minhbach_shared import names
from minhbach_testing.notifier import FakeOwner, Inbox, registry, start_smtp
from minhbach_testing.plugin import free_port, migrated_sqlite
from notifier.bootstrap import build_parts, make_notifier_celery
from notifier.manage import MIGRATIONS
from notifier.settings import Settings


@pytest.fixture
def settings(tmp_path, redis_server):
    s = Settings(
        database_url=migrated_sqlite(tmp_path / "notifier.db", MIGRATIONS),
        portal_dir=tmp_path / "portal",
        center_dir=tmp_path / "center",
        redis_url=redis_server.url,
        max_attempts=3,
        retry_base_s=0.01,
        retry_cap_s=0.05,
        log_json=False,
        environment="test",
        # No events worker here: a reconcile round need not wait for the events queue
        # (tests/api/test_operations_metrics.py waits for one it runs itself).
        reconcile_grace_s=0.0,
    )
    return s


@pytest.fixture
def owner():
    return FakeOwner()


@pytest.fixture
def content_owner():
    return FakeOwner()


@pytest.fixture
def hotline_owner():
    return FakeOwner()


@pytest.fixture
def redis_client(redis_server):
    client = redis_server.client()
    yield client
    client.close()


@pytest.fixture
def celery_app(settings):
    app = make_notifier_celery(settings)
    yield app
    app.close()


@pytest.fixture
def make_notifier(settings, owner, content_owner, hotline_owner, celery_app, redis_client):
    """The notifier's parts (what every use case takes) on the test's database, Redis and fake
    owners, with some settings changed."""
    built = []

    def make(**overrides):  # type: ignore[no-untyped-def]
        service = build_parts(
            settings.model_copy(update=overrides),
            celery=celery_app,
            owners=registry(owner, content_owner, hotline_owner),
            redis=redis_client,
        )
        built.append(service)
        return service

    yield make
    for service in built:
        service.engine.dispose()


@pytest.fixture
def notifier(make_notifier):
    return make_notifier()


@pytest.fixture
def portal_queue_depth(redis_client):
    return lambda: int(redis_client.llen(names.channel_queue("portal")))


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def inbox(smtp_port):
    """A real SMTP server (aiosmtpd) on a free port; what it accepted, in order."""
    box = Inbox()
    controller = start_smtp(smtp_port, box)
    yield box
    controller.stop()
