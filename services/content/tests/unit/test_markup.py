"""Hostile bodies never survive into body_html (the bodies and the checker are in conftest)."""

from __future__ import annotations

from collections.abc import Callable

from content.markup import render_markdown


def test_hostile_body_is_neutralised(hostile_body: str, harmless: Callable[[str], None]) -> None:
    harmless(render_markdown(hostile_body))


def test_hostile_body_inside_markdown_is_neutralised(
    hostile_body: str, harmless: Callable[[str], None]
) -> None:
    harmless(render_markdown(f"# Tin\n\n> {hostile_body}\n\n- {hostile_body}\n\n*{hostile_body}*"))


def test_the_checker_catches_what_it_should(harmless: Callable[[str], None]) -> None:
    for bad in (
        '<img src=x onerror="a()">',
        '<a href="javascript:a()">x</a>',
        "<svg></svg>",
        '<p style="x">',
    ):
        try:
            harmless(bad)
        except AssertionError:
            continue
        raise AssertionError(f"checker let {bad!r} through")


def test_ordinary_markdown_renders() -> None:
    html = render_markdown(
        "## Mục tiêu\n\n- một\n- hai\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        "![ảnh](/v1/attachments/abc) [liên hệ](mailto:vanphong@sxd.example) ~~cũ~~"
    )
    assert "<h2>Mục tiêu</h2>" in html and "<li>một</li>" in html and "<td>1</td>" in html
    assert '<img src="/v1/attachments/abc" alt="ảnh">' in html
    assert 'href="mailto:vanphong@sxd.example"' in html and "<s>cũ</s>" in html
