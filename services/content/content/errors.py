"""The service's refusals, each mapped to its HTTP status by the shared handler."""

from __future__ import annotations

from minhbach_shared.http import Conflict, DomainError, NotFound, Unprocessable


class ArticleNotFound(NotFound):
    def __init__(self, article_id: int) -> None:
        super().__init__(f"article {article_id} not found")


class RevisionNotFound(NotFound):
    def __init__(self, article_id: int, number: int) -> None:
        super().__init__(f"article {article_id} has no revision {number}")


class DocumentNotFound(NotFound):
    def __init__(self, what: str) -> None:
        super().__init__(f"document {what} not found")


class AttachmentNotFound(NotFound):
    def __init__(self, sha256: str) -> None:
        super().__init__(f"attachment {sha256} not found")


class NotAllowed(Conflict):
    """The current state forbids the transition; `errors` lists what is allowed now."""

    def __init__(self, message: str, allowed: list[str]) -> None:
        super().__init__(message, [{"field": "status", "message": message, "allowed": allowed}])


class DocumentExists(Conflict):
    def __init__(self, number: str) -> None:
        super().__init__(
            f"document {number} already exists", [{"field": "number", "message": "already exists"}]
        )


class Forbidden(DomainError):
    status_code = 403


class SelfApproval(Forbidden):
    pass


class Invalid(Unprocessable):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", [{"field": field, "message": message}])


class InvalidMany(Unprocessable):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        summary = "; ".join(f"{f}: {m}" for f, m in problems)
        super().__init__(f"invalid request: {summary}", [{"field": f, "message": m} for f, m in problems])


class UnknownProcedures(Unprocessable):
    def __init__(self, field: str, unknown: list[tuple[int, str]]) -> None:
        codes = ", ".join(code for _, code in unknown)
        super().__init__(
            f"{field}: unknown procedure code{'s' if len(unknown) > 1 else ''}: {codes}",
            [
                {"field": f"{field}[{i}]", "code": code, "message": f"no published procedure {code}"}
                for i, code in unknown
            ],
        )


class ProceduresUnavailable(DomainError):
    """The procedures API could not confirm the codes; nothing was saved."""

    status_code = 503

    def __init__(self, reason: str) -> None:
        super().__init__(
            "cannot verify procedure codes: procedures service unavailable; try again",
            [{"field": "procedure_codes", "message": f"procedures service unavailable ({reason})"}],
        )


class AttachmentRejected(Unprocessable):
    def __init__(self, reason: str) -> None:
        super().__init__(f"attachment rejected: {reason}", [{"field": "file", "message": reason}])
