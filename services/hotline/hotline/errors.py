"""The service's refusals, each mapped to its HTTP status by the shared handler."""

from __future__ import annotations

from hotline.domain import TransitionNotAllowed
from minhbach_shared.http import Conflict, DomainError, NotFound, Unprocessable


class TicketNotFound(NotFound):
    def __init__(self, ref: str | int) -> None:
        super().__init__(f"ticket {ref} not found")


class UnitNotFound(NotFound):
    def __init__(self, unit_id: int) -> None:
        super().__init__(f"unit {unit_id} not found")


class AnswerNotFound(NotFound):
    def __init__(self, code: str) -> None:
        super().__init__(f"no published answer {code}")


class NotAllowed(Conflict):
    """The current state forbids the action; `errors` lists what is allowed now."""

    @classmethod
    def from_transition(cls, exc: TransitionNotAllowed) -> NotAllowed:
        return cls(
            str(exc),
            [
                {
                    "field": "status",
                    "status": exc.status.value,
                    "action": exc.action.value,
                    "allowed": [a.value for a in exc.allowed],
                    "message": str(exc),
                }
            ],
        )


class Invalid(Unprocessable):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", [{"field": field, "message": message}])


class ProceduresUnavailable(DomainError):
    """The procedures register could not be asked; nothing was stored."""

    status_code = 503

    def __init__(self, reason: str) -> None:
        super().__init__(
            "the procedures register cannot be reached to check procedure_code; "
            f"nothing was stored, please try again later ({reason})",
            [{"field": "procedure_code", "message": "could not be checked"}],
        )
