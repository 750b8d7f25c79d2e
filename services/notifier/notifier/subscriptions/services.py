"""Subscribing: ask to follow a procedure or a field, confirm by the e-mailed link, unsubscribe;
and, at ingest, one pending e-mail row per subscription a change concerns.

The rules (targets, statuses, who follows what) are in domain.py; this module reads and
writes the notifier's database and queues the confirmation e-mail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from minhbach_shared.http import Conflict, NotFound, Unprocessable
from notifier.channels.email import EMAIL
from notifier.disclosure import repository as disclosure
from notifier.disclosure.domain import SubjectKey
from notifier.parts import Parts
from notifier.subscriptions import domain as subscriptions
from notifier.subscriptions import repository as repo
from notifier.subscriptions.domain import Subscription


def subscribe(parts: Parts, email: str, *, procedure_code: str | None, field: str | None) -> None:
    """Ask to follow a procedure or a field; a confirmation e-mail goes to `email`.

    The answer is the same whether the address was new, pending or already active, so
    the API never tells anyone who follows what.
    """
    if (procedure_code is None) == (field is None):
        raise Unprocessable(
            "give either procedure_code or field",
            [{"field": "procedure_code", "message": "exactly one of procedure_code and field"}],
        )
    with parts.write() as session:
        if procedure_code is not None:
            # One subject read: a public endpoint should not load the whole catalogue.
            found = disclosure.get_subject(session, (subscriptions.PROCEDURE, procedure_code.strip()))
            if found is None or not _in_force(found.state):
                raise Unprocessable(
                    f"no procedure in force with code {procedure_code!r}",
                    [{"field": "procedure_code", "message": "no procedure in force with this code"}],
                )
            target = subscriptions.procedure_target(found.id, str(found.state.get("name") or ""))
        else:
            procedures = disclosure.subjects_of_kind(session, subscriptions.PROCEDURE)
            fields = sorted(
                {str(p.state.get("field") or "") for p in procedures if _in_force(p.state)} - {""}
            )
            name = subscriptions.find_field(str(field), fields)
            if name is None:
                raise Unprocessable(
                    f"no field named {field!r}",
                    [{"field": "field", "message": f"unknown field; known: {', '.join(fields)}"}],
                )
            target = subscriptions.field_target(name)
        now = parts.clock()
        held = repo.find_subscription(session, email=email, target_kind=target.kind, target_key=target.key)
        if held is None:
            subscription_id = repo.add_subscription(
                session,
                email=email,
                target_kind=target.kind,
                target_key=target.key,
                target_label=target.label,
                token=subscriptions.new_token(),
                now=now,
            )
        elif not subscriptions.resubscribe_needs_mail(held.status):
            return
        elif held.confirm_sent_at is not None and (now - held.confirm_sent_at).total_seconds() < (
            parts.settings.confirm_resend_s
        ):
            return  # a confirmation just left: do not let anyone flood an inbox
        else:
            subscription_id = held.id
            if held.status == subscriptions.SubscriptionStatus.UNSUBSCRIBED:
                # Coming back: a fresh secret, so an old unsubscribe link cannot end it.
                repo.update_subscription(
                    session,
                    held.id,
                    status=subscriptions.SubscriptionStatus.PENDING.value,
                    token=subscriptions.new_token(),
                    unsubscribed_at=None,
                )
        repo.update_subscription(session, subscription_id, confirm_sent_at=now, target_label=target.label)
        repo.add_subscriber_email(
            session,
            subscription_id=subscription_id,
            kind=subscriptions.MailKind.CONFIRM,
            key=("subscription", str(subscription_id)),
            version=1,
            channel=EMAIL,
            now=now,
            due_at=now,
            occurred_at=now,
        )
        session.commit()
    parts.dispatcher.enqueue_channel(EMAIL)


def confirm_subscription(parts: Parts, token: str) -> Subscription:
    return _change_subscription(parts, token, subscriptions.SubscriptionStatus.ACTIVE)


def unsubscribe(parts: Parts, token: str) -> Subscription:
    return _change_subscription(parts, token, subscriptions.SubscriptionStatus.UNSUBSCRIBED)


def _change_subscription(parts: Parts, token: str, to: subscriptions.SubscriptionStatus) -> Subscription:
    """Confirm (pending -> active) or unsubscribe (any -> unsubscribed); repeating is harmless."""
    with parts.write() as session:
        held = repo.subscription_by_token(session, token)
        if held is None:
            raise NotFound("no subscription with this link", [{"field": "token", "message": "unknown"}])
        if to == subscriptions.SubscriptionStatus.ACTIVE:
            if held.status == subscriptions.SubscriptionStatus.UNSUBSCRIBED:
                raise Conflict(
                    "this subscription was cancelled; subscribe again",
                    [{"field": "token", "message": "unsubscribed"}],
                )
            moves, stamp = subscriptions.can_confirm(held.status), "confirmed_at"
        else:
            moves, stamp = held.status != to, "unsubscribed_at"
        if moves:
            repo.update_subscription(session, held.id, status=to.value, **{stamp: parts.clock()})
            session.commit()
        found = repo.subscription_by_token(session, token)
    assert found is not None
    return found


def tell_followers(
    parts: Parts,
    session: Session,
    changed: Sequence[tuple[SubjectKey, tuple[int, dict[str, Any], datetime | None]]],
    *,
    now: datetime,
) -> int:
    """One pending e-mail row per active subscription a changed procedure concerns.

    The rows wait `subscriber_delay_s`; all pending rows of one subscription then
    leave as one e-mail, so a decision changing fifty procedures of a field is one mail.
    """
    procedures = [(key, v) for key, v in changed if key[0] == subscriptions.PROCEDURE]
    if not procedures or parts.mailer is None:
        return 0
    active = repo.active_targets(session)
    if not active:
        return 0
    due_at = now + timedelta(seconds=parts.settings.subscriber_delay_s)
    rows = 0
    for key, (version, state, occurred_at) in procedures:
        for subscription_id in subscriptions.followers(state, key[1], active):
            repo.add_subscriber_email(
                session,
                subscription_id=subscription_id,
                kind=subscriptions.MailKind.CHANGES,
                key=key,
                version=version,
                channel=EMAIL,
                now=now,
                due_at=due_at,
                occurred_at=occurred_at,
            )
            rows += 1
    return rows


def _in_force(state: Mapping[str, Any]) -> bool:
    status: str = state.get("status", "in_force")
    return status == "in_force"
