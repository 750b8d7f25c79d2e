"""What an amendment changed: a published content against the one before, component by component.

Plain data in the components' own shapes, for each channel to word as it shows them
(the notifier writes "Phí, lệ phí: 150.000 đồng → 200.000 đồng"). One ComponentChange
per component that differs, in the national form's order; nothing for one that does not.

- a text component (name, field, level, agency, result, online_service) and
  processing_time: `before` and `after` (None where it was or is absent);
- a list of texts (subjects, steps, submission_methods, forms, requirements,
  legal_basis): the items `added` and `removed`; the same items in another order:
  `before` and `after` are the whole lists;
- fees and the dossier's papers: `added` and `removed` as {name, ...}; a fee or a paper
  of the same name whose amount or counts changed is in `changed` ({before, after}).
  A single fee before and a single fee after are the same fee, renamed or not. The
  dossier's number of sets, when it changed: `before` and `after`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from minhbach_shared.components import PROCEDURE_COMPONENTS

_TEXTS = ("name", "field", "level", "agency", "result", "online_service")
_LISTS = ("subjects", "steps", "submission_methods", "forms", "requirements", "legal_basis")


@dataclass(frozen=True)
class ItemChange:
    """A fee or a dossier paper found on both sides, with other details."""

    before: Any
    after: Any


@dataclass(frozen=True)
class ComponentChange:
    component: str
    before: Any = None
    after: Any = None
    added: tuple[Any, ...] = ()
    removed: tuple[Any, ...] = ()
    changed: tuple[ItemChange, ...] = ()


def compare(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[ComponentChange]:
    """Every component that differs from `before` to `after`, in form order; [] when none does."""
    found: list[ComponentChange] = []
    for component in PROCEDURE_COMPONENTS:
        old, new = before.get(component), after.get(component)
        if component in _TEXTS:
            change = _text_change(component, old, new)
        elif component in _LISTS:
            change = _list_change(component, _texts(old), _texts(new))
        elif component == "fees":
            change = _named_change(component, _named(old), _named(new), pair_lone=True)
        elif component == "dossier":
            change = _dossier_change(old, new)
        else:  # processing_time, compared whole
            change = None if old == new else ComponentChange(component, before=old, after=new)
        if change is not None:
            found.append(change)
    return found


def _text_change(component: str, old: Any, new: Any) -> ComponentChange | None:
    old_text, new_text = _text(old), _text(new)
    if old_text == new_text:
        return None
    return ComponentChange(component, before=old_text, after=new_text)


def _text(value: Any) -> str | None:
    """A text component as compared: stripped, None when blank or absent."""
    text = value.strip() if isinstance(value, str) else None
    return text or None


def _texts(value: Any) -> list[str]:
    return [t for t in (_text(v) for v in value or []) if t is not None] if isinstance(value, list) else []


def _list_change(component: str, old: list[str], new: list[str]) -> ComponentChange | None:
    if old == new:
        return None
    added = tuple(item for item in new if item not in old)
    removed = tuple(item for item in old if item not in new)
    if not added and not removed:  # the same items, reordered (the steps, say)
        return ComponentChange(component, before=old, after=new)
    return ComponentChange(component, added=added, removed=removed)


def _named(value: Any) -> list[dict[str, Any]]:
    """Fees or papers as {name, ...} without empty details, so an unset count equals a missing one;
    a bare name (older data) is {name}."""
    items = value if isinstance(value, list) else []
    return [
        {"name": i} if isinstance(i, str) else {k: v for k, v in i.items() if v is not None}
        for i in items
        if isinstance(i, str | Mapping)
    ]


def _named_change(
    component: str,
    old: Sequence[dict[str, Any]],
    new: Sequence[dict[str, Any]],
    *,
    pair_lone: bool,
    before: Any = None,
    after: Any = None,
) -> ComponentChange | None:
    old_names = {_text(i.get("name")) for i in old}
    new_by_name = {_text(i.get("name")): i for i in new}
    added = [i for i in new if _text(i.get("name")) not in old_names]
    removed = [i for i in old if _text(i.get("name")) not in new_by_name]
    changed = [
        ItemChange(i, new_by_name[name])
        for i in old
        if (name := _text(i.get("name"))) in new_by_name and new_by_name[name] != i
    ]
    if pair_lone and len(old) == len(new) == 1 and added and removed:
        # One fee before and one after: the same fee, renamed (and re-priced or not).
        changed, added, removed = [ItemChange(removed[0], added[0])], [], []
    if not (added or removed or changed) and before == after:
        return None
    return ComponentChange(
        component,
        before=before,
        after=after,
        added=tuple(added),
        removed=tuple(removed),
        changed=tuple(changed),
    )


def _dossier_change(old: Any, new: Any) -> ComponentChange | None:
    old = old if isinstance(old, Mapping) else {}
    new = new if isinstance(new, Mapping) else {}
    old_sets, new_sets = old.get("sets"), new.get("sets")
    return _named_change(
        "dossier",
        _named(old.get("items")),
        _named(new.get("items")),
        pair_lone=False,
        before=old_sets if old_sets != new_sets else None,
        after=new_sets if old_sets != new_sets else None,
    )
