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

# Each component's name on the national form, as the public and the staff read it.
COMPONENT_LABELS = {
    "name": "Tên thủ tục",
    "field": "Lĩnh vực",
    "level": "Cấp thực hiện",
    "agency": "Cơ quan thực hiện",
    "subjects": "Đối tượng thực hiện",
    "steps": "Trình tự thực hiện",
    "submission_methods": "Cách thức thực hiện",
    "dossier": "Thành phần hồ sơ",
    "processing_time": "Thời hạn giải quyết",
    "result": "Kết quả thực hiện",
    "fees": "Phí, lệ phí",
    "forms": "Mẫu đơn, tờ khai",
    "requirements": "Yêu cầu, điều kiện thực hiện",
    "legal_basis": "Căn cứ pháp lý",
    "online_service": "Mức độ dịch vụ công trực tuyến",
}
