"""The portal channel: the reform section of the Department's site, as static HTML.

Every file is written to a temporary file beside it and renamed over it, so a
reader never sees half a page. Subject pages are rendered per changed subject; the
index pages and the feed at most once per run, however many subjects changed, and a
list of procedures only when one of its rows changed: the channel keeps what it showed
(Catalogue, Timeline) across runs, so a run's cost follows the change, not the
catalogue (issue 15).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from markupsafe import Markup

from minhbach_shared.times import VIETNAM
from notifier.channels.base import Outcome, ReadModel
from notifier.channels.pages import (
    DEPARTMENT,
    SITE_TITLE,
    PageVersions,
    all_present,
    as_text,
    page_environment,
    page_name,
    qr_svg,
    read_meta,
    vn_date,
    write_atomic,
)
from notifier.channels.views.catalogue import Catalogue, FieldPages, Refresh, Timeline
from notifier.channels.views.content import (
    CATEGORIES,
    DOCUMENTS_DIR,
    PANEL_DIR,
    ArticleView,
    ContentSite,
    article_paths,
    document_page,
)
from notifier.channels.views.feeds import answer_entry, article_entry, document_entry, newest_first
from notifier.channels.views.procedures import (
    Entry,
    ProcedureViews,
    applied_at,
    decision_entry,
    decision_view,
    entry_order,
    procedure_entries,
    procedure_view,
)
from notifier.channels.views.qa import (
    FORM_PAGE,
    LOOKUP_PAGE,
    QA_DIR,
    STATS_PAGE,
    QASite,
    StatisticsView,
    answer_page,
)
from notifier.disclosure.domain import Delivery, SubjectKey, SubjectState
from notifier.hotline.domain import STATISTICS_KEY
from notifier.search.documents import (
    answer_document,
    article_document,
    decision_document,
    document_document,
    procedure_document,
)
from notifier.search.domain import SearchDocument
from notifier.search.index import SearchIndexWriter

log = logging.getLogger(__name__)

FEED_ID = "urn:minhbach:portal:feed"
LATEST_ON_HOME = 10
# A field's list is paged: linh-vuc/<slug>.html, then <slug>-tu-<code>.html, ... about this
# many each, broken where the codes say (views.catalogue.paged). No list file grows with the
# catalogue, and a change rewrites only the pages whose rows changed, and the first page,
# which counts the field's procedures and leads to every page.
LIST_PAGE_SIZE = 100
# The list of every procedure (thu-tuc/index.html) shows them all up to this many; beyond,
# it shows the fields (each with its count and pages) and the search.
LIST_ALL_UP_TO = 200
# The read model's kinds the public search finds, and the name of each there.
SEARCH_KINDS = {
    "procedure": "procedure",
    "decision": "decision",
    "article": "article",
    "document": "document",
    "ticket": "answer",
}
FEED_ENTRIES = 200
# Rendered feed entries kept across runs (the feeds of every change and of each field).
FEED_ENTRIES_KEPT = 20_000
NEWS_ON_HOME = 5


@dataclass
class Site:
    """What one channel run renders from: computed once from the read model."""

    names: dict[str, str]
    content: ContentSite
    qa: QASite
    now: datetime
    # Article id -> its pages on disk and what each cited; scanned once per run, lazily.
    article_pages: dict[str, list[tuple[Path, list[str]]]] | None = None


def panel_hotline(stats: StatisticsView | None) -> tuple[tuple[str, ...], str] | None:
    """What of the hotline a panel prints: its phones and office hours."""
    return (tuple(stats.phones), stats.office_hours) if stats is not None else None


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
        portal_url: str | None = None,
        clock: Callable[[], datetime] | None = None,
        list_page_size: int = LIST_PAGE_SIZE,
        list_all_up_to: int = LIST_ALL_UP_TO,
    ) -> None:
        self.root = Path(root)
        self.page_versions = PageVersions()  # reconcile's reading back
        self.field_pages = FieldPages(list_page_size, lambda slug: slug)
        self.list_all_up_to = list_all_up_to
        # Each field list page written -> what it showed besides its rows (its codes and
        # neighbours; the first page, the field's size and pages too): a page of a changed
        # field is written again only if that differs or one of its procedures changed
        # (their rows: Refresh.codes).
        self._list_pages: dict[str, tuple[Any, ...]] = {}
        # The names in linh-vuc/ the last run kept (None: not known, list the folder).
        self._field_files: set[str] | None = None
        # Each page rendered from views alone (a section's articles, the answers, the
        # documents) -> the views it was last written from: written again only when they
        # differ. They are built each run (at its clock: an expiry shows), so this is exact.
        self._written_from: dict[str, Any] = {}
        # The portal's public address: feed links and panels' QR codes are absolute from it
        # (feed readers without xml:base cannot follow a relative link). None: feeds link
        # relative to themselves and panels carry no QR code (a channel built bare in tests).
        self.portal_url = portal_url.rstrip("/") if portal_url else None
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
        # What the last run showed, updated by what changed (see the module's docstring).
        row = self.env.get_template("_procedure_row.html")
        self.catalogue = Catalogue(self.procedure_view, {"list": lambda p: row.render(p=p)})
        self.timeline = Timeline(entry_order)
        self._entry_template = self.env.get_template("_feed_entry.xml")
        self._decision_row = self.env.get_template("_decision_row.html")
        # A run writes the feed of every change and of each field it touched, 200 entries
        # each, nearly all the same as the run before: each entry's XML is rendered once and
        # kept (a fifth of the portal's time under load when each was rendered every time).
        self._feed_entry = functools.lru_cache(maxsize=FEED_ENTRIES_KEPT)(self._render_feed_entry)
        # Each field's procedure changes (its feed), and the field each procedure's are under.
        self.field_timelines: dict[str, Timeline] = {}
        self._field_of: dict[str, str] = {}
        self.decisions: dict[str, dict[str, Any]] = {}
        self._codes_of_decision: dict[str, set[str]] = {}
        self.search_index = SearchIndexWriter(self.root)
        # The hotline the panels last printed (None: unknown since this process started).
        self._panel_hotline: tuple[tuple[str, ...], str] | None = None

    def preview_procedure(self, state: dict[str, Any], *, version: int) -> str:
        """A procedure's page for a state not (yet) disclosed: what the console shows an
        editor before a decision puts it in force. The same view and template as the
        published page; nothing written, nothing linked from it."""
        subject = SubjectState(
            kind="procedure",
            id=str(state.get("code", "")),
            version=version,
            state={**state, "status": state.get("status") or "in_force"},
            updated_at=self.clock(),
            occurred_at=None,
        )
        view = procedure_view(subject, {})
        return self.env.get_template("procedure.html").render(
            root="../", p=view, cited=None, qa=[], site=SITE_TITLE
        )

    # The site ---------------------------------------------------------------------

    def site(self, model: ReadModel) -> Site:
        """What the run renders from; call after `self.catalogue.refresh(model)` (its names)."""
        now = self.clock()
        names = self.catalogue.names
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
        if not self._lists_present():
            self.catalogue.invalidate()  # wiped or restored behind our back: rebuild them all
        refresh = self.catalogue.refresh(model)
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
                rendered.add(key)
            except Exception as exc:
                log.exception("portal related page failed", extra={"subject": key})
                for delivery_id in follow[key]:
                    if outcomes[delivery_id].ok:
                        outcomes[delivery_id] = Outcome.failed(
                            f"{key[0]} {key[1]}: {type(exc).__name__}: {exc}"
                        )
        rendered_indexes = False
        if any(o.ok for o in outcomes.values()):
            try:
                self.render_indexes(model, site, refresh)
                self.index_for_search(model, site, rendered, everything=refresh.full)
                rendered_indexes = True
            except Exception as exc:
                log.exception("portal indexes failed")
                error = f"indexes: {type(exc).__name__}: {exc}"
                outcomes = {k: o if not o.ok else Outcome.failed(error) for k, o in outcomes.items()}
        if not rendered_indexes:
            # The lists were not (all) written from this refresh: the next run rebuilds them.
            self.catalogue.invalidate()
        return outcomes

    def _lists_present(self) -> bool:
        """Whether every list page the last run wrote is still there: a few stat calls, and
        one listing of the fields' folder for its pages."""
        pages = [
            "index.html",
            "thu-tuc/index.html",
            "quyet-dinh/index.html",
            f"{QA_DIR}/{FORM_PAGE}.html",
            f"{QA_DIR}/{LOOKUP_PAGE}.html",
            f"{QA_DIR}/index.html",
            f"{QA_DIR}/feed.xml",
            f"{DOCUMENTS_DIR}/index.html",
            f"{DOCUMENTS_DIR}/feed.xml",
            *(f"{c.dir}/{name}" for c in CATEGORIES.values() for name in ("index.html", "feed.xml")),
        ]
        fields = self.catalogue.fields()
        field_pages = [f"{f['slug']}.xml" for f in fields]
        field_pages += [name for f in fields for name in self.field_pages.names(f)]
        return (
            self.search_index.exists()
            and all((self.root / page).is_file() for page in pages)
            and all_present(self.root / "linh-vuc", field_pages)
        )

    # The public search ---------------------------------------------------------------

    def index_for_search(
        self, model: ReadModel, site: Site, keys: set[SubjectKey], *, everything: bool = False
    ) -> None:
        """Make the search find what the pages of `keys` now show (or, with `everything`,
        what the whole portal shows), in one transaction (notifier.search.index)."""
        subjects = (
            [s for s in model.by_key.values() if s.kind in SEARCH_KINDS]
            if everything
            else [s for key in keys if key[0] in SEARCH_KINDS and (s := model.get(key)) is not None]
        )
        upserts: list[SearchDocument] = []
        removals: list[str] = []
        for subject in subjects:
            doc = self._search_document(subject, site)
            if doc is None:
                removals.append(f"{SEARCH_KINDS[subject.kind]}:{subject.id}")
            else:
                upserts.append(doc)
        self.search_index.apply(upserts, removals, replace_all=everything)

    def _search_document(self, subject: SubjectState, site: Site) -> SearchDocument | None:
        if subject.kind == "procedure":
            return procedure_document(self.procedure_view(subject, site.names))
        if subject.kind == "decision":
            return decision_document(decision_view(subject))
        if subject.kind == "article":
            article = site.content.articles.get(subject.id)
            return article_document(article) if article is not None else None
        if subject.kind == "document":
            document = site.content.documents.get(subject.id)
            return document_document(document) if document is not None else None
        answer = site.qa.answers.get(subject.id)
        return answer_document(answer) if answer is not None else None

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
            # The panels print the hotline's phones: when those changed, print them anew.
            if panel_hotline(site.qa.statistics) == self._panel_hotline:
                return set()
            return {("article", a.id) for a in site.content.articles.values() if a.live and a.panel_path}
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
        self._render_panel(a, site)
        for old, _ in before:
            if old != path:  # its slug or category changed: the old address goes, and its panel
                for gone in (old, old.parent / PANEL_DIR / old.name):
                    with contextlib.suppress(FileNotFoundError):
                        gone.unlink()
        site.article_pages[subject.id] = [(path, a.procedure_codes if a.live else [])]
        # The procedures it cites now, and those it cited before, list it or no longer do.
        codes = set(a.procedure_codes) | {c for _, cites in before for c in cites}
        return {("procedure", c) for c in codes}

    def _render_panel(self, a: ArticleView, site: Site) -> None:
        """A propaganda article's A3 panel: large type, its picture, the hotline and a QR code
        of its page; once the article is no longer live, the notice its page shows."""
        if a.panel_path is None:
            return
        shown = {"root": "../../", "a": a, "category": a.category, "site": SITE_TITLE}
        if a.live:
            url = f"{self.portal_url}/{a.path}" if self.portal_url else None
            html = self.env.get_template("article_panel.html").render(
                url=url,
                qr=Markup(qr_svg(url)) if url else None,  # noqa: S704 - qr_svg: one path, and the title it escapes
                hotline=site.qa.statistics,
                department=DEPARTMENT,
                **shown,
            )
        else:
            html = self.env.get_template("article_gone.html").render(category_href="../index.html", **shown)
        write_atomic(self.root / a.panel_path, html)
        self._panel_hotline = panel_hotline(site.qa.statistics)

    def _render_document(self, subject: SubjectState, site: Site) -> set[SubjectKey]:
        d = site.content.documents[subject.id]
        path = self.root / DOCUMENTS_DIR / f"{d.page}.html"
        before = read_meta(path)[1]
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
        before = read_meta(path)[1]
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
                subject, cites = read_meta(path)
                if subject is not None and subject[0] == "article":
                    found[subject[1]].append((path, cites))
        return dict(found)

    def _update_timeline(self, model: ReadModel, refresh: Refresh) -> tuple[list[dict[str, Any]], set[str]]:
        """Bring the decisions' views and every change's entry up to date: the decisions,
        newest first, and the fields whose feed of changes changed."""
        if refresh.full:
            self.timeline = Timeline(entry_order)
            self.field_timelines, self._field_of = {}, {}
            self.decisions, self._codes_of_decision = {}, {}
            changed_decisions = [d.id for d in model.of_kind("decision")]
        else:
            changed_decisions = [i for k, i in refresh.keys or () if k == "decision"]
        before = applied_at(self.decisions.values())
        codes = set(refresh.codes)
        for decision_id in changed_decisions:
            subject = model.get(("decision", decision_id))
            if subject is None:
                self.decisions.pop(decision_id, None)
                self.timeline.replace(("decision", decision_id), [])
                continue
            decision = self.decisions[decision_id] = decision_view(subject)
            # Its row in the list of decisions, rendered once per version (the list is
            # written again with every new decision, and grows with them).
            decision["row"] = Markup(self._decision_row.render(d=decision))  # noqa: S704 - autoescaped
            self.timeline.replace(("decision", decision_id), [decision_entry(decision)])
        applied = applied_at(self.decisions.values())
        # A decision applied (or its time corrected) dates the changes of its procedures.
        for decision_id in changed_decisions:
            if applied.get(decision_id) != before.get(decision_id):
                codes |= self._codes_of_decision.get(decision_id, set())
        feeds: set[str] = set()
        for code in codes:
            view = self.catalogue.views.get(code)
            history = view["history"] if view is not None else []
            for h in history:
                self._codes_of_decision.setdefault(str(h["decision_id"]), set()).add(code)
            entries = procedure_entries(view, applied) if view else []
            self.timeline.replace(("procedure", code), entries)
            feeds |= self._file_under_field(code, view["field"] if view else None, entries)
        decisions = sorted(
            self.decisions.values(), key=lambda d: (d["effective_on_iso"], d["id"]), reverse=True
        )
        return decisions, feeds

    def _file_under_field(self, code: str, field: str | None, entries: list[Entry]) -> set[str]:
        """Put a procedure's changes in its field's feed (out of the one it left); the fields touched."""
        touched = set()
        before = self._field_of.pop(code, None)
        if before is not None:
            self.field_timelines[before].replace(code, [])
            touched.add(before)
        if field is not None:
            self._field_of[code] = field
            self.field_timelines.setdefault(field, Timeline(entry_order)).replace(code, entries)
            touched.add(field)
        return touched

    def render_indexes(
        self, model: ReadModel, site: Site | None = None, refresh: Refresh | None = None
    ) -> None:
        refresh = refresh or self.catalogue.refresh(model)
        site = site or self.site(model)
        catalogue = self.catalogue
        decisions, field_feeds = self._update_timeline(model, refresh)
        fields = catalogue.fields()
        listed = [f for f in fields if f["procedures"]]
        changes = self.timeline.newest(max(FEED_ENTRIES, LATEST_ON_HOME))
        now = site.now
        common: dict[str, Any] = {"site": SITE_TITLE, "department": DEPARTMENT, "generated_at": now}
        render = self.env.get_template
        if refresh.full:
            self._written_from = {}
        sections = []
        for category in CATEGORIES.values():
            live = site.content.live(category.code)
            sections.append({"category": category, "count": len(live)})
            # Its page and feed show its live articles alone (no procedure): an empty
            # feed's date was the run's, so it was written again on every run.
            if self._written_from.get(category.dir) == live:
                continue
            write_atomic(
                self.root / category.dir / "index.html",
                render("articles.html").render(root="../", category=category, articles=live, **common),
            )
            self.write_feed(
                f"{category.dir}/feed.xml",
                feed_id=f"{FEED_ID}:{category.dir}",
                title=f"{SITE_TITLE}: {category.title}",
                entries=newest_first([article_entry(a) for a in live]),
                **common,
            )
            self._written_from[category.dir] = live
        answers = site.qa.live()
        # Answers and documents say nothing of other kinds: their feeds change only with them.
        if refresh.full or refresh.touched("ticket"):
            self.write_feed(
                f"{QA_DIR}/feed.xml",
                feed_id=f"{FEED_ID}:{QA_DIR}",
                title=f"{SITE_TITLE}: Hỏi đáp, trả lời phản ánh, kiến nghị",
                entries=[answer_entry(a) for a in answers],
                **common,
            )
        groups = site.qa.groups()
        if self._written_from.get(QA_DIR) != (groups, site.qa.statistics):
            write_atomic(
                self.root / QA_DIR / "index.html",
                render("answers.html").render(
                    root="../", groups=groups, count=len(answers), stats=site.qa.statistics, **common
                ),
            )
            self._written_from[QA_DIR] = (groups, site.qa.statistics)
        # The form and the look-up show the hotline's phones and hours, nothing of the
        # catalogue (the form finds a procedure through the public search, as the kiosk does).
        if refresh.full or refresh.touched_key(STATISTICS_KEY):
            for page, template in ((FORM_PAGE, "hotline_form.html"), (LOOKUP_PAGE, "hotline_lookup.html")):
                write_atomic(
                    self.root / QA_DIR / f"{page}.html",
                    render(template).render(
                        root="../", api=self.hotline_base_url, hotline=site.qa.statistics, **common
                    ),
                )
        documents = site.content.documents_sorted()
        if self._written_from.get(DOCUMENTS_DIR) != documents:
            write_atomic(
                self.root / DOCUMENTS_DIR / "index.html",
                render("documents.html").render(root="../", documents=documents, **common),
            )
            self._written_from[DOCUMENTS_DIR] = documents
        if refresh.full or refresh.touched("document"):
            self.write_feed(
                f"{DOCUMENTS_DIR}/feed.xml",
                feed_id=f"{FEED_ID}:{DOCUMENTS_DIR}",
                title=f"{SITE_TITLE}: Văn bản chỉ đạo, văn bản pháp luật",
                entries=newest_first([document_entry(d) for d in documents]),
                **common,
            )
        # A list of procedures only where one of its rows changed (each row rendered once),
        # and of a field's pages only those whose rows changed.
        if refresh.full:
            self._list_pages = {}
            self._field_files = None
        for f in fields:
            if refresh.full or f["name"] in refresh.fields:
                self._write_field_pages(f, refresh, common)
            # Its feed: only when one of its procedures' changes did (added, re-dated, moved).
            if refresh.full or f["name"] in field_feeds:
                timeline = self.field_timelines.get(f["name"])
                self.write_feed(
                    f"linh-vuc/{f['slug']}.xml",
                    feed_id=f"{FEED_ID}:linh-vuc:{f['slug']}",
                    title=f"{SITE_TITLE}: lĩnh vực {f['name']}",
                    entries=timeline.newest(FEED_ENTRIES) if timeline else [],
                    **common,
                )
        if refresh.full or refresh.fields or field_feeds:
            # A field no procedure belongs to any more has no page nor feed (it listed
            # procedures gone); a field that shrank, fewer pages. The folder is listed on a
            # rebuild; otherwise what the last run kept and this one does not is removed
            # (listing ~500 files each run at 10,000 grew with the catalogue).
            kept = {f"{f['slug']}.xml" for f in fields} | {
                name for f in fields for name in self.field_pages.names(f)
            }
            folder = self.root / "linh-vuc"
            if refresh.full or self._field_files is None:
                present = {p.name for p in [*folder.glob("*.html"), *folder.glob("*.xml")]}
            else:
                present = self._field_files
            for name in present - kept:
                (folder / name).unlink(missing_ok=True)
                self._list_pages.pop(name, None)
            self._field_files = kept
        everything = len(catalogue.in_force) <= self.list_all_up_to
        if refresh.full or (everything and "list" in refresh.lists) or refresh.fields:
            shown = [
                {
                    **f,
                    "rows": catalogue.joined("list", f["procedures"]) if everything else None,
                    "pages": len(self.field_pages.of(f)),
                }
                for f in listed
            ]
            write_atomic(
                self.root / "thu-tuc" / "index.html",
                render("procedures.html").render(
                    root="../",
                    fields=shown,
                    everything=everything,
                    in_force=len(catalogue.in_force),
                    **common,
                ),
            )
        if refresh.full or refresh.touched("decision"):
            write_atomic(
                self.root / "quyet-dinh" / "index.html",
                render("decisions.html").render(root="../", decisions=decisions, **common),
            )
        self.write_feed("feed.xml", feed_id=FEED_ID, title=None, entries=changes, **common)
        write_atomic(
            self.root / "index.html",
            render("index.html").render(
                root="",
                fields=listed,
                in_force=len(catalogue.in_force),
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

    def _write_field_pages(self, field: dict[str, Any], refresh: Refresh, common: dict[str, Any]) -> None:
        """Write the field's pages whose rows (or neighbours) changed since they were written;
        the first page also when the field's count or its pages did."""
        template = self.env.get_template("field.html")
        for page in self.field_pages.of(field):
            listed = page.listed
            # A page wiped since it was written: deliver's _lists_present saw it and rebuilt all.
            if self._list_pages.get(page.name) == listed and not refresh.codes.intersection(page.codes):
                continue
            rows = self.catalogue.joined("list", page.codes)
            html = template.render(root="../", field={**field, "rows": rows}, pager=page, **common)
            write_atomic(self.root / "linh-vuc" / page.name, html)
            self._list_pages[page.name] = listed

    def write_feed(
        self,
        path: str,
        *,
        feed_id: str,
        title: str | None,
        entries: list[Entry],
        generated_at: datetime,
        **common: Any,
    ) -> None:
        """Write the Atom feed at `path` (from the portal's root) of the newest `entries`;
        its links absolute from the portal's address, and the page it goes with beside it
        (`<dir>/feed.xml`: `<dir>/index.html`; `linh-vuc/<slug>.xml`: `linh-vuc/<slug>.html`)."""
        entries = entries[:FEED_ENTRIES]
        folder, _, name = path.rpartition("/")
        page = "index.html" if name == "feed.xml" else name.removesuffix(".xml") + ".html"
        # Without the portal's address, relative to the feed itself (as before).
        base = f"{self.portal_url}/" if self.portal_url else "../" * path.count("/")
        html = self.env.get_template("feed.xml").render(
            feed_id=feed_id,
            feed_title=title,
            # Safe: each entry is what the autoescaping entry template rendered. (Markup's own
            # join escapes each entry again, a no-op that was 7 % of a portal run.)
            entries_xml=Markup("".join(self._feed_entry(e, base) for e in entries)),  # noqa: S704
            updated=entries[0].updated if entries else generated_at,
            base=base,
            self_href=path,
            page_href=f"{folder}/{page}" if folder else page,
            generated_at=generated_at,
            **common,
        )
        write_atomic(self.root / path, html)

    def _render_feed_entry(self, entry: Entry, base: str) -> Markup:
        """An entry's XML. Jinja drops a template's last newline: each entry ends its own line."""
        return Markup(self._entry_template.render(e=entry, base=base) + "\n")  # noqa: S704 - autoescaped

    # The audit ----------------------------------------------------------------------

    def shown_versions(self, model: ReadModel) -> dict[SubjectKey, int | None]:
        """Read each subject page's `mb:version` marker: what the public really sees."""
        root = str(self.root)
        articles = article_paths(model.of_kind("article"))
        pages: dict[SubjectKey, str] = {}
        for key, subject in model.by_key.items():
            if subject.kind == "procedure":
                pages[key] = f"{root}/thu-tuc/{page_name(subject.id)}.html"
            elif subject.kind == "decision":
                pages[key] = f"{root}/quyet-dinh/{page_name(subject.id)}.html"
            elif subject.kind == "article" and subject.id in articles:
                pages[key] = f"{root}/{articles[subject.id]}"
            elif subject.kind == "document":
                number = as_text(subject.state.get("number"))
                pages[key] = f"{root}/{DOCUMENTS_DIR}/{document_page(number, subject.id)}.html"
            elif subject.kind == "ticket":
                pages[key] = f"{root}/{QA_DIR}/{answer_page(subject.id)}.html"
            elif key == STATISTICS_KEY:
                pages[key] = f"{root}/{QA_DIR}/{STATS_PAGE}.html"
        shown = self.page_versions.read(pages)
        if not (self.root / "index.html").exists():
            # Without the home page nothing is reachable: count everything as missing.
            return dict.fromkeys(shown)
        return shown
