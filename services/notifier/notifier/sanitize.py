"""HTML from another service is sanitised again here before any page marks it safe.

The content service already cleans article bodies with nh3; the notifier does not
trust that (defence in depth): a conservative allow-list, http/https/mailto and
relative URLs only, no style, no event handler, no SVG/MathML, no script.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import nh3
from markupsafe import Markup

TAGS = frozenset(
    {
        "p", "br", "hr", "strong", "em", "b", "i", "u", "s", "sub", "sup", "mark", "small",
        "ul", "ol", "li", "dl", "dt", "dd", "blockquote", "h2", "h3", "h4", "h5", "h6",
        "a", "img", "figure", "figcaption", "code", "pre",
        "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td",
    }
)  # fmt: skip
ATTRIBUTES = {
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "ol": {"start"},
    "th": {"colspan", "rowspan", "scope"},
    "td": {"colspan", "rowspan"},
}
# Removed with everything inside them, not just unwrapped.
DROP_WITH_CONTENT = frozenset(
    {
        "script", "style", "svg", "math", "iframe", "frame", "frameset", "object", "embed",
        "noscript", "noembed", "template", "textarea", "select", "xmp", "title",
    }
)  # fmt: skip
URL_SCHEMES = frozenset({"http", "https", "mailto"})


def _rebase(base_url: str | None) -> Callable[[str], str | None]:
    """Relative URLs of the content service ("/v1/attachments/...") point at its public base."""

    def rewrite(url: str) -> str | None:
        if base_url and url.startswith("/") and not url.startswith("//"):
            return base_url.rstrip("/") + url
        return url

    return rewrite


def clean_html(html: str | None, *, base_url: str | None = None) -> Markup:
    """`html` with only the allow-listed tags, attributes and URL schemes, ready for Jinja."""
    if not html:
        return Markup("")
    cleaned = nh3.clean(
        str(html),
        tags=set(TAGS),
        clean_content_tags=set(DROP_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        url_relative=_rebase(base_url),
        strip_comments=True,
        link_rel="noopener noreferrer",
    )
    return Markup(cleaned)  # noqa: S704 - nh3 output, allow-listed above


def safe_url(url: object, *, base_url: str | None = None) -> str | None:
    """An http(s) URL, or a relative one resolved against `base_url`; None for anything else."""
    if not url or not isinstance(url, str):
        return None
    url = url.strip()
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        return None
    parts = urlsplit(url)
    if parts.scheme:
        return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None
    if url.startswith("//"):
        return None
    if base_url:
        return urljoin(base_url.rstrip("/") + "/", url.lstrip("/")) if url.startswith("/") else url
    return url
