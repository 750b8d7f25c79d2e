"""The components of an administrative procedure, in the order of the national form.

Part of the contract: the procedures service requires them before a procedure comes
into force, serves them in every procedure state (GET /v1/procedures/{code}), and
every channel shows them (the portal's page, the centre's notice, the dvc webhook).
"""

from __future__ import annotations

PROCEDURE_COMPONENTS = (
    "name",
    "field",
    "level",
    "agency",
    "subjects",
    "steps",
    "submission_methods",
    "dossier",
    "processing_time",
    "result",
    "fees",
    "forms",
    "requirements",
    "legal_basis",
    # The online-service level: every procedure of the sample carries it.
    "online_service",
)
