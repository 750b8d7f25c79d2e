"""The demo's articles: a few of each category, each with a picture, written, submitted and
published by the service's own use cases (the picture uploaded as any attachment is), so
they reach the outbox and every channel like any other. Loaded only into a database that
has no article yet.

The pictures are drawn here (a plain PNG: a coloured card with a house), so the demo ships
no binary file and still shows what an article with a cover looks like.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from content import schemas, services
from content.storage import AttachmentStore
from content.uow import UnitOfWork
from minhbach_shared.procedures_api import ProcedureRegister

EDITOR = "demo-editor"
APPROVER = "demo-approver"
WIDTH, HEIGHT = 480, 270


@dataclass(frozen=True)
class DemoArticle:
    category: str
    title: str
    summary: str
    body: str
    tags: tuple[str, ...]
    colour: tuple[int, int, int]
    # A propaganda leaflet carries its panel as an attached image too.
    panel: bool = False


ARTICLES = (
    DemoArticle(
        "news",
        "Sở Xây dựng đẩy mạnh cải cách hành chính năm 2026",
        "Sở Xây dựng tỉnh Thái Bình triển khai kế hoạch cải cách hành chính, lấy người dân "
        "và doanh nghiệp làm trung tâm.",
        "Năm 2026, Sở Xây dựng tập trung **rút ngắn thời gian giải quyết** thủ tục hành chính, "
        "tăng số hồ sơ nộp trực tuyến và công khai đầy đủ thủ tục trên mọi kênh.\n\n"
        "- Rà soát, đơn giản hóa thành phần hồ sơ;\n"
        "- Công khai kết quả giải quyết hồ sơ;\n"
        "- Tiếp nhận và trả lời phản ánh, kiến nghị đúng hạn.",
        ("cải cách hành chính", "kế hoạch"),
        (11, 92, 171),
    ),
    DemoArticle(
        "news",
        "Hơn 90% hồ sơ cấp phép xây dựng được giải quyết trước hạn",
        "Trong quý III, phần lớn hồ sơ cấp giấy phép xây dựng tại Sở được trả kết quả trước hạn.",
        "Kết quả có được nhờ tiếp nhận hồ sơ trực tuyến và phối hợp chặt chẽ giữa các phòng "
        "chuyên môn với Trung tâm Phục vụ hành chính công tỉnh.",
        ("giấy phép xây dựng",),
        (27, 120, 80),
    ),
    DemoArticle(
        "initiatives",
        "Mô hình “Một cửa thân thiện” tại Trung tâm Phục vụ hành chính công",
        "Cán bộ tiếp nhận hướng dẫn tận tình, một lần đủ giấy tờ, người dân không phải đi lại nhiều lần.",
        "Mô hình bố trí cán bộ hướng dẫn tại quầy, phát phiếu hướng dẫn thành phần hồ sơ và "
        "gọi điện nhắc lịch trả kết quả.",
        ("một cửa", "sáng kiến"),
        (150, 80, 20),
    ),
    DemoArticle(
        "initiatives",
        "Tra cứu thủ tục xây dựng bằng mã QR",
        "Mỗi bản niêm yết thủ tục tại Trung tâm có mã QR dẫn đến trang thủ tục trên Cổng thông tin.",
        "Người dân quét mã bằng điện thoại để xem thành phần hồ sơ, phí và thời hạn giải quyết mới nhất.",
        ("mã QR", "chuyển đổi số"),
        (110, 60, 140),
    ),
    DemoArticle(
        "plans_reports",
        "Kế hoạch cải cách hành chính năm 2026 của Sở Xây dựng",
        "Mục tiêu, nhiệm vụ và phân công thực hiện cải cách hành chính năm 2026.",
        "Kế hoạch đặt mục tiêu 100% thủ tục hành chính được công khai đúng quy định và trả lời "
        "phản ánh, kiến nghị trong thời hạn.",
        ("kế hoạch",),
        (60, 70, 90),
    ),
    DemoArticle(
        "plans_reports",
        "Báo cáo kết quả cải cách hành chính 9 tháng đầu năm",
        "Tổng hợp kết quả thực hiện các nhiệm vụ cải cách hành chính 9 tháng đầu năm.",
        "Sở đã tiếp nhận và giải quyết đúng hạn phần lớn hồ sơ; mọi phản ánh, kiến nghị đều được trả lời.",
        ("báo cáo",),
        (90, 100, 40),
    ),
    DemoArticle(
        "propaganda",
        "Nộp hồ sơ trực tuyến: nhanh hơn, ít giấy tờ hơn",
        "Nộp hồ sơ thủ tục xây dựng qua Cổng dịch vụ công: không phải xếp hàng, theo dõi tiến độ mọi lúc.",
        "Truy cập Cổng dịch vụ công, chọn thủ tục, tải lên hồ sơ và nhận kết quả tại nhà.",
        ("tuyên truyền", "dịch vụ công trực tuyến"),
        (200, 60, 40),
        panel=True,
    ),
    DemoArticle(
        "propaganda",
        "Phản ánh, kiến nghị về thủ tục hành chính: gọi đường dây nóng",
        "Mọi phản ánh, kiến nghị về thủ tục hành chính của Sở được tiếp nhận và trả lời công khai.",
        "Gọi đường dây nóng của Sở hoặc gửi phản ánh tại mục Hỏi đáp trên Cổng thông tin.",
        ("tuyên truyền", "đường dây nóng"),
        (0, 110, 120),
        panel=True,
    ),
)


def picture(colour: tuple[int, int, int], *, width: int = WIDTH, height: int = HEIGHT) -> bytes:
    """A PNG card of `colour` with a white house in its middle (roof, walls and a door)."""
    white, (r, g, b) = (255, 255, 255), colour
    cx, base, size = width // 2, height * 3 // 4, height // 2
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")  # filter: none
        for x in range(width):
            roof = base - size <= y < base - size // 2 and abs(x - cx) <= (y - (base - size)) * 1.2
            walls = base - size // 2 <= y < base and abs(x - cx) <= size // 2
            door = base - size // 4 <= y < base and abs(x - cx) <= size // 10
            row += bytes(white if (roof or walls) and not door else (r, g, b))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


def load_demo_articles(
    units: Callable[[], UnitOfWork], store: AttachmentStore, *, now: datetime, procedures: ProcedureRegister
) -> int:
    """Write, submit and publish the demo articles with their pictures; 0 when there are articles already."""
    with units() as uow:
        if uow.repo.has_articles():
            return 0
    for i, a in enumerate(ARTICLES, start=1):
        image = services.upload_attachment(
            units(), store, io.BytesIO(picture(a.colour)), filename=f"anh-minh-hoa-{i}.png", by=EDITOR
        )
        data = schemas.ArticleCreate(
            category=a.category,
            title=a.title,
            summary=a.summary,
            body=a.body,
            cover_image=image.id,
            tags=list(a.tags),
            attachments=[image.id] if a.panel else [],
        )
        article_id = services.create_article(units(), data, author=EDITOR, now=now, procedures=procedures)
        services.submit(units(), article_id)
        services.publish(units(), article_id, schemas.PublishRequest(), approver=APPROVER, now=now)
    return len(ARTICLES)
