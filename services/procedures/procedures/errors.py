"""The service's refusals, each mapped to its HTTP status by the shared handler."""

from __future__ import annotations

from typing import Any

from minhbach_shared.http import Conflict, DomainError, NotFound, Unprocessable


class ProcedureNotFound(NotFound):
    def __init__(self, code: str, *, what: str = "procedure") -> None:
        super().__init__(f"{what} {code} not found")


class DecisionNotFound(NotFound):
    def __init__(self, decision_id: int) -> None:
        super().__init__(f"decision {decision_id} not found")


class ProcedureExists(Conflict):
    def __init__(self, code: str) -> None:
        super().__init__(f"procedure {code} already exists", [{"field": "code", "message": "already exists"}])


class NotAllowed(Conflict):
    """The current state forbids the operation (editing an abolished procedure, publishing twice)."""


class SelfApproval(DomainError):
    """Four eyes: whoever drafted a decision cannot publish it or send it back."""

    status_code = 403


class Invalid(Unprocessable):
    """A value the rules refuse, named by its field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", [{"field": field, "message": message}])


class MissingComponents(Unprocessable):
    """A decision cannot be published; `errors` lists, per change, what is missing or wrong."""

    def __init__(self, message: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(message, errors)
