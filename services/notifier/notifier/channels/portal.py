"""The portal channel: the reform section of the Department's site, as static HTML.

Every file is written to a temporary file beside it and renamed over it, so a
reader never sees half a page. Subject pages are rendered per changed subject;
the index pages and the feed once per run, however many subjects changed.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from html import unescape
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from minhbach_shared.text import fold, nfc, slugify
from minhbach_shared.times import VIETNAM, parse_moment
from notifier.channels.base import Outcome, ReadModel
from notifier.channels.content import CATEGORIES, DOCUMENTS_DIR, ContentSite, article_paths, document_page
from notifier.channels.qa import FORM_PAGE, LOOKUP_PAGE, QA_DIR, STATS_PAGE, QASite, answer_page
from notifier.hotline import STATISTICS_KEY
from notifier.ledger import SubjectKey
from notifier.repository import Delivery, SubjectState

log = logging.getLogger(__name__)

SITE_TITLE = "Cải cách hành chính — Sở Xây dựng tỉnh Thái Bình"
DEPARTMENT = "Sở Xây dựng tỉnh Thái Bình"
FEED_ID = "urn:minhbach:portal:feed"
LATEST_ON_HOME = 10
FEED_ENTRIES = 200
NEWS_ON_HOME = 5

IN_FORCE = "in_force"
TIME_UNITS = {"working_days": "ngày làm việc", "days": "ngày", "hours": "giờ", "months": "tháng"}
ACTIONS = {
    "new": "Công bố mới",
    "amend": "Sửa đổi, bổ sung",
    "replace": "Thay thế",
    "abolish": "Bãi bỏ",
}
DECISION_STATUS = {"scheduled": "Sắp có hiệu lực", "in_effect": "Đang có hiệu lực", "draft": "Dự thảo"}
_VERSION_META = re.compile(r'<meta name="mb:version" content="(\d+)">')
_SUBJECT_META = re.compile(r'<meta name="mb:subject" content="([a-z]+):([^"]*)">')
_CITES_META = re.compile(r'<meta name="mb:cites" content="([^"]*)">')
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,150}$")


def page_name(identifier: str) -> str:
    """A file name for a code or id: kept as is when safe (MB.XD.001), else slugified."""
    return identifier if _SAFE_NAME.match(identifier) else slugify(identifier)


def vn_date(value: Any) -> str:
    """dd/mm/yyyy in Vietnam time; a bare date stays that date."""
    if not value:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(VIETNAM).strftime("%d/%m/%Y")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    text = str(value)
    if len(text) == 10:
        try:
            return date.fromisoformat(text).strftime("%d/%m/%Y")
        except ValueError:
            return text
    parsed = parse_moment(text)
    return parsed.astimezone(VIETNAM).strftime("%d/%m/%Y") if parsed else text


def vn_datetime(value: datetime | None) -> str:
    return value.astimezone(VIETNAM).strftime("%H:%M %d/%m/%Y") if value else ""


def vnd(amount: Any) -> str:
    """150000 -> "150.000 đồng" (dots group thousands in Vietnamese); "" when there is no amount."""
    if amount is None or isinstance(amount, bool) or amount == "":
        return ""
    try:
        return f"{int(amount):,}".replace(",", ".") + " đồng"
    except (TypeError, ValueError):
        return _text(amount)


NO_FEE_AMOUNT = "Chưa có thông tin về mức thu"


def fee_view(raw: Any) -> dict[str, str]:
    """A fee as a reader sees it: its amount, its note (a tariff set elsewhere), or both."""
    if not isinstance(raw, dict):
        return {"name": _text(raw), "amount": "", "note": "", "text": NO_FEE_AMOUNT}
    amount = vnd(raw.get("amount_vnd"))
    note = _text(raw.get("note")).strip()
    text = f"{amount} ({note})" if amount and note else amount or note or NO_FEE_AMOUNT
    return {"name": _text(raw.get("name")).strip(), "amount": amount, "note": note, "text": text}


def _text(value: Any) -> str:
    return nfc(str(value)) if value is not None else ""


def _texts(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [nfc(value)]
    return [_text(v) for v in value if v not in (None, "")]


# -- view models ---------------------------------------------------------------------


@dataclass
class Entry:
    """One change, for the home page and the Atom feed."""

    id: str
    title: str
    href: str
    updated: datetime
    summary: str


def _dossier(raw: Any) -> dict[str, Any]:
    raw = raw if isinstance(raw, dict) else {}
    items = []
    for item in raw.get("items") or []:
        if isinstance(item, str):
            items.append({"name": nfc(item), "originals": None, "copies": None})
        else:
            items.append(
                {
                    "name": _text(item.get("name")),
                    "originals": item.get("originals"),
                    "copies": item.get("copies"),
                }
            )
    # Columns of originals and copies only when the procedure gives a count for some paper.
    counted = any(i["originals"] is not None or i["copies"] is not None for i in items)
    return {"items": items, "counted": counted, "sets": raw.get("sets", raw.get("copies"))}


def _processing_time(raw: Any) -> str:
    if not isinstance(raw, dict):
        return _text(raw)
    if raw.get("value") is None:
        return ""
    unit = TIME_UNITS.get(str(raw.get("unit")), _text(raw.get("unit")))
    return f"{raw.get('value')} {unit}".strip()


def _history(raw: Any) -> list[dict[str, Any]]:
    out = []
    for h in raw or []:
        decision = h.get("decision") or {}
        out.append(
            {
                "version": h.get("version"),
                "action": ACTIONS.get(h.get("action", ""), _text(h.get("action"))),
                "action_code": h.get("action"),
                "status": h.get("status"),
                "effective_at": parse_moment(h.get("effective_at")),
                "effective": vn_date(decision.get("effective_on") or h.get("effective_at")),
                "decision_id": decision.get("id"),
                "decision_number": _text(decision.get("number")),
                "decision_title": _text(decision.get("title")),
                "signed_on": vn_date(decision.get("signed_on")),
            }
        )
    return out


def procedure_view(subject: SubjectState, names: dict[str, str]) -> dict[str, Any]:
    s = subject.state
    history = _history(s.get("history"))
    status = s.get("status", IN_FORCE)
    # The decision that ended it is the newest history entry with the ending action.
    ending_action = {"abolished": "abolish", "replaced": "replace"}.get(status)
    ending = next((h for h in reversed(history) if h["action_code"] == ending_action), None)
    if ending is None and history and status != IN_FORCE:
        ending = history[-1]
    replaced_by = s.get("replaced_by")
    return {
        "code": _text(s.get("code") or subject.id),
        "page": page_name(subject.id),
        "version": subject.version,
        "status": status,
        "in_force": status == IN_FORCE,
        "name": _text(s.get("name")),
        "field": _text(s.get("field")) or "Khác",
        "field_slug": slugify(_text(s.get("field")) or "Khác"),
        "level": _text(s.get("level")),
        "agency": _text(s.get("agency")),
        "subjects": _texts(s.get("subjects")),
        "steps": _texts(s.get("steps")),
        "submission_methods": _texts(s.get("submission_methods")),
        "dossier": _dossier(s.get("dossier")),
        "processing_time": _processing_time(s.get("processing_time")),
        "result": _text(s.get("result")),
        "fees": [fee_view(f) for f in s.get("fees") or []],
        "forms": _texts(s.get("forms")),
        "requirements": _texts(s.get("requirements")),
        "legal_basis": _texts(s.get("legal_basis")),
        "online_service": _text(s.get("online_service")),
        "replaced_by": _text(replaced_by) if replaced_by else None,
        "replaced_by_page": page_name(str(replaced_by)) if replaced_by else None,
        "replaced_by_name": names.get(str(replaced_by), "") if replaced_by else "",
        "ending": ending,
        "effective": vn_date(s.get("effective_at")),
        "history": history,
        "search": fold(f"{s.get('code', '')} {s.get('name', '')} {s.get('field', '')}"),
    }


class ProcedureViews:
    """procedure_view, remembered across runs per (code, version, replacement's name).

    Every run re-renders the index pages from every procedure, and most of them did not
    change since the last run: building their views again (parsing, folding) was the
    largest part of a one-change run at a thousand procedures. A view is never changed
    after it is built; a new version (or a renamed replacement) is a new key.
    """

    def __init__(self, limit: int = 50_000) -> None:
        self.limit = limit
        self._views: dict[tuple[str, int, str], dict[str, Any]] = {}

    def __call__(self, subject: SubjectState, names: dict[str, str]) -> dict[str, Any]:
        replaced_by = subject.state.get("replaced_by")
        key = (subject.id, subject.version, names.get(str(replaced_by), "") if replaced_by else "")
        view = self._views.get(key)
        if view is None:
            if len(self._views) >= self.limit:
                self._views.clear()  # old versions pile up; start over rather than grow
            view = self._views[key] = procedure_view(subject, names)
        return view


def decision_view(subject: SubjectState) -> dict[str, Any]:
    s = subject.state
    status = s.get("status", "in_effect")
    changes = [
        {
            "action": ACTIONS.get(c.get("action", ""), _text(c.get("action"))),
            "code": _text(c.get("procedure_code")),
            "page": page_name(str(c.get("procedure_code", ""))),
            "name": _text(c.get("procedure_name")),
            "replaced_by": _text(c.get("replaced_by")) if c.get("replaced_by") else None,
            "replaced_by_page": page_name(str(c["replaced_by"])) if c.get("replaced_by") else None,
        }
        for c in s.get("changes") or []
    ]
    return {
        "id": subject.id,
        "page": page_name(subject.id),
        "version": subject.version,
        "number": _text(s.get("number")),
        "title": _text(s.get("title")),
        "issuer": _text(s.get("issuer")),
        "signed_on": vn_date(s.get("signed_on")),
        "effective_on": vn_date(s.get("effective_on")),
        "effective_on_iso": s.get("effective_on") or "",
        "status": status,
        "status_label": DECISION_STATUS.get(status, _text(status)),
        "scheduled": status == "scheduled",
        "published_at": parse_moment(s.get("published_at")),
        "applied_at": parse_moment(s.get("applied_at")),
        "changes": changes,
    }


def entries(procedures: Sequence[dict[str, Any]], decisions: Sequence[dict[str, Any]]) -> list[Entry]:
    """Every change of every procedure and decision, newest first."""
    out: list[Entry] = []
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for p in procedures:
        for h in p["history"]:
            decision = f" theo Quyết định số {h['decision_number']}" if h["decision_number"] else ""
            out.append(
                Entry(
                    id=f"urn:minhbach:procedure:{p['code']}:v{h['version']}",
                    title=f"{h['action']}: {p['name']} (phiên bản {h['version']})",
                    href=f"thu-tuc/{p['page']}.html",
                    updated=h["effective_at"] or epoch,
                    summary=f"Thủ tục {p['code']} — {h['action'].lower()}{decision}, "
                    f"hiệu lực từ ngày {h['effective']}.",
                )
            )
    for d in decisions:
        label = "có hiệu lực" if d["status"] == "in_effect" else "sắp có hiệu lực"
        out.append(
            Entry(
                id=f"urn:minhbach:decision:{d['id']}:v{d['version']}",
                title=f"Quyết định số {d['number']}: {d['title']}",
                href=f"quyet-dinh/{d['page']}.html",
                updated=d["applied_at"] or d["published_at"] or epoch,
                summary=f"Quyết định số {d['number']} ({label} từ ngày {d['effective_on']}, "
                f"phiên bản {d['version']}), {len(d['changes'])} thủ tục.",
            )
        )
    out.sort(key=lambda e: (e.updated, e.id), reverse=True)
    return out


@dataclass
class Site:
    """What one channel run renders from: computed once from the read model."""

    names: dict[str, str]
    content: ContentSite
    qa: QASite
    now: datetime
    # Article id -> its pages on disk and what each cited; scanned once per run, lazily.
    article_pages: dict[str, list[tuple[Path, list[str]]]] | None = None


def _read_meta(path: Path) -> tuple[tuple[str, str] | None, list[str]]:
    """A page's (kind, id) and the procedure codes it cites, from its markers."""
    try:
        with path.open(encoding="utf-8") as handle:
            head = handle.read(4000)
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return None, []
    subject = _SUBJECT_META.search(head)
    cites = _CITES_META.search(head)
    codes = [c for c in unescape(cites.group(1)).split("|") if c] if cites else []
    return ((subject.group(1), unescape(subject.group(2))) if subject else None), codes


# -- writing -------------------------------------------------------------------------


def write_atomic(path: Path, text: str) -> None:
    """Write `text` as UTF-8 so that readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(nfc(text).encode("utf-8"))
        # mkstemp makes 0600; the web server reading the portal is another user.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def directory_lock(root: Path) -> Iterator[object]:
    """An exclusive flock on `root/.lock`: one channel run at a time writes a directory."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield lock
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def page_environment() -> Environment:
    """The Jinja environment of the public pages (portal and service centre)."""
    env = Environment(
        loader=PackageLoader("notifier", "templates"),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["vn_date"] = vn_date
    env.filters["vn_datetime"] = vn_datetime
    env.filters["page_name"] = page_name
    env.filters["tel"] = lambda phone: re.sub(r"[^0-9+]", "", str(phone))
    return env


class PortalChannel:
    name = "portal"
    kinds = frozenset({"procedure", "decision", "article", "document", "ticket", STATISTICS_KEY[0]})

    def __init__(
        self,
        root: Path,
        *,
        content_base_url: str | None = None,
        hotline_base_url: str | None = None,
        subscribe_action: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.root = Path(root)
        # Where the public fetches the content service's attachments ("/v1/attachments/...").
        self.content_base_url = content_base_url
        # Where the public's browser posts the hotline form and looks tickets up ("/v1/public/tickets").
        self.hotline_base_url = (hotline_base_url or "").rstrip("/")
        # Where the "follow by e-mail" forms post (the notifier's public API); None: no form.
        self.subscribe_action = subscribe_action
        self.clock = clock or (lambda: datetime.now(UTC))
        self.env = page_environment()
        self.env.globals["subscribe_action"] = subscribe_action
        self.procedure_view = ProcedureViews()

    def exclusive(self) -> contextlib.AbstractContextManager[object]:
        return directory_lock(self.root)

    # The site ---------------------------------------------------------------------

    def site(self, model: ReadModel) -> Site:
        now = self.clock()
        names = {p.id: _text(p.state.get("name")) for p in model.of_kind("procedure")}
        return Site(
            names=names,
            qa=QASite.build(model, names=names, page_of=page_name, vn_date=vn_date),
            content=ContentSite.build(
                model,
                now=now,
                today=now.astimezone(VIETNAM).date(),
                base_url=self.content_base_url,
                vn_date=vn_date,
            ),
            now=now,
        )

    def deliver(self, batch: Sequence[Delivery], model: ReadModel) -> dict[int, Outcome]:
        site = self.site(model)
        outcomes: dict[int, Outcome] = {}
        rendered: set[SubjectKey] = set()
        # Pages that show a delivered subject elsewhere (a procedure's citing articles,
        # a document's inverse relations) -> the deliveries that need them re-rendered.
        follow: dict[SubjectKey, set[int]] = defaultdict(set)
        if any(d.subject_kind == "article" for d in batch):
            site.article_pages = self._scan_article_pages()
        for delivery in batch:
            subject = model.get(delivery.key)
            if subject is None:
                outcomes[delivery.id] = Outcome.failed("subject is not in the read model")
                continue
            try:
                for key in self._render_subject(subject, site):
                    follow[key].add(delivery.id)
                rendered.add(subject.key)
                outcomes[delivery.id] = Outcome.shown(subject.version)
            except Exception as exc:
                log.exception("portal page failed", extra={"subject": delivery.key})
                outcomes[delivery.id] = Outcome.failed(f"{type(exc).__name__}: {exc}")
        for key in sorted(follow):
            related = model.get(key)
            if key in rendered or related is None:
                continue
            try:
                self._render_subject(related, site)  # one level: its own follow-ups are not chased
            except Exception as exc:
                log.exception("portal related page failed", extra={"subject": key})
                for delivery_id in follow[key]:
                    if outcomes[delivery_id].ok:
                        outcomes[delivery_id] = Outcome.failed(
                            f"{key[0]} {key[1]}: {type(exc).__name__}: {exc}"
                        )
        if any(o.ok for o in outcomes.values()):
            try:
                self.render_indexes(model, site)
            except Exception as exc:
                log.exception("portal indexes failed")
                error = f"indexes: {type(exc).__name__}: {exc}"
                outcomes = {k: o if not o.ok else Outcome.failed(error) for k, o in outcomes.items()}
        return outcomes

    def _render_subject(self, subject: SubjectState, site: Site) -> set[SubjectKey]:
        """Write the subject's page; return the other pages that show it and need re-rendering."""
        render = self.env.get_template
        if subject.kind == "procedure":
            view = self.procedure_view(subject, site.names)
            html = render("procedure.html").render(
                root="../",
                p=view,
                cited=site.content.citing(view["code"]),
                qa=site.qa.about(view["code"]),
                site=SITE_TITLE,
            )
            write_atomic(self.root / "thu-tuc" / f"{view['page']}.html", html)
            return set()
        if subject.kind == "decision":
            view = decision_view(subject)
            html = render("decision.html").render(root="../", d=view, site=SITE_TITLE)
            write_atomic(self.root / "quyet-dinh" / f"{view['page']}.html", html)
            return set()
        if subject.kind == "article":
            return self._render_article(subject, site)
        if subject.kind == "document":
            return self._render_document(subject, site)
        if subject.kind == "ticket":
            return self._render_answer(subject, site)
        if subject.key == STATISTICS_KEY and site.qa.statistics is not None:
            html = render("qa_statistics.html").render(root="../", stats=site.qa.statistics, site=SITE_TITLE)
            write_atomic(self.root / QA_DIR / f"{STATS_PAGE}.html", html)
            return set()
        raise ValueError(f"the portal does not show {subject.kind} yet")

    def _render_article(self, subject: SubjectState, site: Site) -> set[SubjectKey]:
        a = site.content.articles[subject.id]
        if a.category is None:
            raise ValueError(f"unknown article category: {subject.state.get('category')!r}")
        path = self.root / a.path
        if site.article_pages is None:
            site.article_pages = self._scan_article_pages()
        before = site.article_pages.get(subject.id, [])
        # A page that is no longer live keeps its address with a short notice and
        # nothing of the article: bookmarks do not break, and the audit still reads
        # its version marker. It leaves every list and feed (render_indexes).
        template = "article.html" if a.live else "article_gone.html"
        html = self.env.get_template(template).render(
            root="../", a=a, category=a.category, names=site.names, site=SITE_TITLE
        )
        write_atomic(path, html)
        for old, _ in before:
            if old != path:  # its slug or category changed: the old address goes
                with contextlib.suppress(FileNotFoundError):
                    old.unlink()
        site.article_pages[subject.id] = [(path, a.procedure_codes if a.live else [])]
        # The procedures it cites now, and those it cited before, list it or no longer do.
        codes = set(a.procedure_codes) | {c for _, cites in before for c in cites}
        return {("procedure", c) for c in codes}

    def _render_document(self, subject: SubjectState, site: Site) -> set[SubjectKey]:
        d = site.content.documents[subject.id]
        path = self.root / DOCUMENTS_DIR / f"{d.page}.html"
        before = _read_meta(path)[1]
        html = self.env.get_template("document.html").render(
            root="../", d=d, names=site.names, site=SITE_TITLE
        )
        write_atomic(path, html)
        codes = set(d.procedure_codes) | set(before)
        partners = site.content.graph.partners(d.number) - {subject.id}
        return {("procedure", c) for c in codes} | {("document", i) for i in partners}

    def _render_answer(self, subject: SubjectState, site: Site) -> set[SubjectKey]:
        """hoi-dap/<code>.html: the Q&A while published, else a notice with nothing of it."""
        a = site.qa.answers[subject.id]
        path = self.root / QA_DIR / f"{a.page}.html"
        before = _read_meta(path)[1]
        template = "answer.html" if a.live else "answer_gone.html"
        write_atomic(path, self.env.get_template(template).render(root="../", a=a, site=SITE_TITLE))
        # The procedure it is about now, and the one it was about before, list it or no longer do.
        codes = set(before) | ({a.procedure_code} if a.live and a.procedure_code else set())
        return {("procedure", c) for c in codes}

    def _scan_article_pages(self) -> dict[str, list[tuple[Path, list[str]]]]:
        """Article id -> its pages on disk and the procedures each cites (from their markers)."""
        found: dict[str, list[tuple[Path, list[str]]]] = defaultdict(list)
        for category in CATEGORIES.values():
            folder = self.root / category.dir
            if not folder.is_dir():
                continue
            for path in folder.glob("*.html"):
                if path.name == "index.html":
                    continue
                subject, cites = _read_meta(path)
                if subject is not None and subject[0] == "article":
                    found[subject[1]].append((path, cites))
        return dict(found)

    def render_indexes(self, model: ReadModel, site: Site | None = None) -> None:
        site = site or self.site(model)
        names = site.names
        procedures = sorted(
            (self.procedure_view(p, names) for p in model.of_kind("procedure")), key=lambda p: p["code"]
        )
        decisions = sorted(
            (decision_view(d) for d in model.of_kind("decision")),
            key=lambda d: (d["effective_on_iso"], d["id"]),
            reverse=True,
        )
        in_force = [p for p in procedures if p["in_force"]]
        by_field: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for p in in_force:
            by_field[p["field"]].append(p)
        every_field = {p["field"]: p["field_slug"] for p in procedures}
        fields = [
            {"name": name, "slug": every_field[name], "procedures": by_field.get(name, [])}
            for name in sorted(every_field, key=fold)
        ]
        changes = entries(procedures, decisions)
        now = site.now
        common = {"site": SITE_TITLE, "department": DEPARTMENT, "generated_at": now}
        render = self.env.get_template
        sections = []
        for category in CATEGORIES.values():
            live = site.content.live(category.code)
            sections.append({"category": category, "count": len(live)})
            write_atomic(
                self.root / category.dir / "index.html",
                render("articles.html").render(root="../", category=category, articles=live, **common),
            )
            feed = [
                Entry(
                    id=f"urn:minhbach:article:{a.id}:v{a.version}",
                    title=a.title,
                    href=f"{a.stem}.html",
                    updated=a.updated_at or a.published_at or now,
                    summary=a.summary,
                )
                for a in live
            ]
            feed.sort(key=lambda e: (e.updated, e.id), reverse=True)
            write_atomic(
                self.root / category.dir / "feed.xml",
                render("feed.xml").render(
                    feed_id=f"{FEED_ID}:{category.dir}",
                    feed_title=f"{SITE_TITLE}: {category.title}",
                    entries=feed[:FEED_ENTRIES],
                    updated=feed[0].updated if feed else now,
                    **common,
                ),
            )
        answers = site.qa.live()
        write_atomic(
            self.root / QA_DIR / "index.html",
            render("answers.html").render(
                root="../", groups=site.qa.groups(), count=len(answers), stats=site.qa.statistics, **common
            ),
        )
        for page, template in ((FORM_PAGE, "hotline_form.html"), (LOOKUP_PAGE, "hotline_lookup.html")):
            write_atomic(
                self.root / QA_DIR / f"{page}.html",
                render(template).render(
                    root="../",
                    api=self.hotline_base_url,
                    procedures=in_force,
                    hotline=site.qa.statistics,
                    **common,
                ),
            )
        documents = site.content.documents_sorted()
        write_atomic(
            self.root / DOCUMENTS_DIR / "index.html",
            render("documents.html").render(root="../", documents=documents, **common),
        )
        for field in fields:
            html = render("field.html").render(root="../", field=field, **common)
            write_atomic(self.root / "linh-vuc" / f"{field['slug']}.html", html)
        write_atomic(
            self.root / "thu-tuc" / "index.html",
            render("procedures.html").render(
                root="../", fields=[f for f in fields if f["procedures"]], **common
            ),
        )
        write_atomic(
            self.root / "quyet-dinh" / "index.html",
            render("decisions.html").render(root="../", decisions=decisions, **common),
        )
        write_atomic(
            self.root / "feed.xml",
            render("feed.xml").render(
                feed_id=FEED_ID,
                entries=changes[:FEED_ENTRIES],
                updated=changes[0].updated if changes else now,
                **common,
            ),
        )
        write_atomic(
            self.root / "index.html",
            render("index.html").render(
                root="",
                fields=[f for f in fields if f["procedures"]],
                in_force=len(in_force),
                decisions=len(decisions),
                latest=changes[:LATEST_ON_HOME],
                news=site.content.live("news")[:NEWS_ON_HOME],
                sections=sections,
                documents=len(documents),
                answers=answers[:NEWS_ON_HOME],
                answer_count=len(answers),
                hotline=site.qa.statistics,
                **common,
            ),
        )

    # The audit ----------------------------------------------------------------------

    def shown_versions(self, model: ReadModel) -> dict[SubjectKey, int | None]:
        """Read each subject page's `mb:version` marker: what the public really sees."""
        shown: dict[SubjectKey, int | None] = {}
        index_missing = not (self.root / "index.html").exists()
        articles = article_paths(model.of_kind("article"))
        for key, subject in model.by_key.items():
            if subject.kind in ("procedure", "decision"):
                folder = "thu-tuc" if subject.kind == "procedure" else "quyet-dinh"
                path = self.root / folder / f"{page_name(subject.id)}.html"
            elif subject.kind == "article" and subject.id in articles:
                path = self.root / articles[subject.id]
            elif subject.kind == "document":
                number = _text(subject.state.get("number"))
                path = self.root / DOCUMENTS_DIR / f"{document_page(number, subject.id)}.html"
            elif subject.kind == "ticket":
                path = self.root / QA_DIR / f"{answer_page(subject.id)}.html"
            elif key == STATISTICS_KEY:
                path = self.root / QA_DIR / f"{STATS_PAGE}.html"
            else:
                continue
            try:
                head = path.read_text(encoding="utf-8")[:4000]
            except (FileNotFoundError, NotADirectoryError):
                shown[key] = None
                continue
            match = _VERSION_META.search(head)
            # Without the home page nothing is reachable: count everything as missing.
            shown[key] = int(match.group(1)) if match and not index_missing else None
        return shown
