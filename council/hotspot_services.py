"""Hotspots (热点): draft topics found in the open complaints of a secretary's units, and the one tap that makes a
topic of one with every complaint behind it.

A hotspot is a cluster (`council.clusters`) of complaints still awaiting triage, of one area (the community or
village a complaint belongs to) and one category, reported within the last `days`, with at least `min_size`
complaints. Each complaint's words are segmented once and kept in `complaint_terms`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from collections import OrderedDict, defaultdict

from sqlalchemy import String, delete, exists, func, select, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import (
    Actor,
    Complaint,
    ComplaintState,
    Conflict,
    DomainError,
    NotFound,
    Staff,
    Topic,
    Unit,
    UnitLevel,
    transition_complaint,
    transition_topic,
    utcnow,
)
from models.hotspots import ComplaintTerms
from models.lifecycle import notify
from models.scope import in_scope, nearest, scope_clause
from web.messages import DELIBERATION_CATEGORIES

from . import clusters, forms

log = logging.getLogger(__name__)
# Bump when `clusters.terms` changes (dictionary, synonyms, stopwords): kept words of older versions are remade.
TERMS_VERSION = 2
DEFAULT_DAYS, MAX_DAYS = 30, 365
DEFAULT_MIN_SIZE, MAX_MIN_SIZE = 3, 100
SHOWN_HOTSPOTS, SHOWN_ITEMS = 30, 10  # the page lists the largest hotspots, each with its newest complaints
TITLE_SAMPLE = 50  # a large hotspot's draft title is made from this many of its complaints
TITLE_LIMIT = 60
TERMS_BATCH, TERMS_WINDOW = 500, 20_000  # the sweep segments so many per round, among so many newest complaints
MAX_COMPLAINTS = 1000
# Only complaints still awaiting a decision: a submitted one is not yet checked, the rest were decided.
OPEN = ComplaintState.awaiting_triage
# The deliberation category a hotspot's topic is proposed under, by its complaints' category (the secretary may
# choose another): disputes between residents are 社会治理难事, the rest 民生改善实事.
DELIBERATION_OF = {"飞线充电": "governance", "饲养宠物": "governance", "物业管理": "governance",
                   "停车": "governance", "邻里纠纷": "governance"}


@dataclasses.dataclass(frozen=True)
class Item:
    id: int
    text: str
    unit: int | str  # the grid's id as clustered, its name as shown
    created_at: dt.datetime | None  # read with the text


@dataclasses.dataclass(frozen=True)
class Hotspot:
    area_id: int
    area_name: str
    category: str
    ids: list[int]  # oldest first
    residents: int
    latest: dt.datetime  # its newest complaint's time (as stored while clustering)
    words: list[str]
    key: str
    items: list[Item]  # the newest SHOWN_ITEMS

    @property
    def count(self) -> int:
        return len(self.ids)

    @property
    def title(self) -> str:
        return f"{self.area_name}{self.category}：{'、'.join(self.words)}"[:TITLE_LIMIT]

    @property
    def deliberation(self) -> str:
        return DELIBERATION_OF.get(self.category, "livelihood")


def parse_window(days, min_size) -> tuple[int, int]:
    """The period (days back) and the smallest cluster the page shows, from its query string."""
    days = DEFAULT_DAYS if days in (None, "") else forms.integer(days, "hotspot_days_invalid", 1, MAX_DAYS)
    min_size = DEFAULT_MIN_SIZE if min_size in (None, "") else forms.integer(
        min_size, "hotspot_min_size_invalid", 2, MAX_MIN_SIZE)
    return days, min_size


def key_of(ids: list[int], latest_change) -> str:
    """What a suggestion was made from: its complaints and the latest moment one of them changed (as the database
    gives it: `stored`). A decision on one of them since, or the tap that made the topic, moves that moment on (or
    takes the complaint out of the open ones), so a stale suggestion is told from a fresh one."""
    seen = ",".join(map(str, sorted(ids)))
    return hashlib.sha256(f"{seen}|{latest_change}".encode()).hexdigest()[:24]


def stored(column):
    """A timestamp column as the driver returns it, without the UTCDateTime conversion: 10,000 rows of it cost a
    sixth of the clustering, and ordering and equality are all the clustering needs of them."""
    return type_coerce(column, String())


def _areas(session: Session, units: list[tuple[int, str, UnitLevel, str]]) -> dict[int, tuple[int, str]]:
    """unit id -> (id, name) of its area: the unit itself or its nearest ancestor at the community level; a unit
    above that level (a complaint escalated to a street) is its own area, as a promotion would own it."""
    known = {uid: (name, level) for uid, name, level, _path in units}
    missing = {int(p) for _u, _n, _l, path in units for p in path.strip("/").split("/") if p} - set(known)
    if missing:
        known.update({uid: (name, level) for uid, name, level in session.execute(
            select(Unit.id, Unit.name, Unit.level).where(Unit.id.in_(missing)))})
    areas = {}
    for uid, name, _level, path in units:
        chain = [int(p) for p in path.strip("/").split("/") if p]
        area = next((a for a in reversed(chain) if known.get(a, ("", None))[1] == UnitLevel.community), uid)
        areas[uid] = (area, known[area][0] if area in known else name)
    return areas


def _upsert(session: Session, rows: list[dict]) -> None:
    """Keep freshly segmented words; a concurrent page that kept them first wins (same words). Rows go in id
    order, so a page and the sweep keeping the same complaints at once take their locks in the same order."""
    rows = sorted(rows, key=lambda row: row["complaint_id"])
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(ComplaintTerms)
    stmt = stmt.on_conflict_do_update(index_elements=["complaint_id"],
                                      set_={"version": stmt.excluded.version, "terms": stmt.excluded.terms})
    for start in range(0, len(rows), 500):
        session.execute(stmt, rows[start:start + 500])


def hotspots(session: Session, staff: Staff, *, days: int = DEFAULT_DAYS, min_size: int = DEFAULT_MIN_SIZE,
             now: dt.datetime | None = None, cached: bool = True) -> list[Hotspot]:
    """The hotspots of the staff member's units, largest first, with the texts of their newest complaints.

    The clusters are kept per process while the open complaints in scope stay the same (`cached`): a village's
    page is read far more often than its complaints change, and clustering 10,000 of them takes a few hundred
    milliseconds of CPU. Side effect: the words of complaints not segmented yet (or by an older segmenter) are kept
    in `complaint_terms`, in the request's transaction.
    """
    since = (now or utcnow()) - dt.timedelta(days=days)
    units = session.execute(select(Unit.id, Unit.name, Unit.level, Unit.path).where(scope_clause(staff))).all()
    if not units:
        return []
    where = (scope_clause(staff, Complaint.unit_id), Complaint.state == OPEN, Complaint.created_at >= since)
    # Any complaint decided, reopened, reviewed, submitted or aged out of the window changes one of these; a unit
    # renamed or moved changes the units.
    fingerprint = (TERMS_VERSION, days, min_size, tuple(sorted(map(tuple, units))), *session.execute(
        select(func.count(), func.max(Complaint.id), func.max(Complaint.state_changed_at)).where(*where)).one())
    found = _computed.get(fingerprint) if cached else None
    if found is None:
        found = _compute(session, units, where, min_size)
        _computed[fingerprint] = found
        while len(_computed) > CACHED_SCOPES:
            _computed.popitem(last=False)
    else:
        _computed.move_to_end(fingerprint)
    return _with_items(session, found, {u.id: u.name for u in units})


_computed: OrderedDict[tuple, list[Hotspot]] = OrderedDict()
CACHED_SCOPES = 64


def _compute(session: Session, units, where, min_size: int) -> list[Hotspot]:
    """Cluster the open complaints of `units` (`where`); hotspots of at least `min_size`, largest first."""
    areas = _areas(session, units)
    terms = select(ComplaintTerms.terms).where(ComplaintTerms.complaint_id == Complaint.id,
                                               ComplaintTerms.version == TERMS_VERSION).scalar_subquery()
    result = session.connection().execute(  # Core, not the ORM's row loading: 10,000 rows for one page
        select(Complaint.id, Complaint.unit_id, Complaint.category, Complaint.resident_id,
               stored(Complaint.created_at), stored(Complaint.state_changed_at), terms.label("terms"))
        .where(*where).order_by(Complaint.created_at, Complaint.id))
    # Plain tuples and dicts from here: a Row's attributes cost more than the clustering's own work.
    info: dict[int, tuple] = {}  # id -> (position, unit id, resident id, created, changed)
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    words: dict[int, list[str]] = {}
    missing = []
    for n, (cid, unit_id, category, resident_id, created, changed, kept) in enumerate(result):
        info[cid] = (n, unit_id, resident_id, created, changed)
        groups[(areas[unit_id][0], category)].append(cid)
        if kept is None:
            missing.append(cid)
        else:
            words[cid] = kept.split()
    words.update(_segment(session, missing))
    idf = clusters.weights(words.values())
    found = []
    for (area_id, category), members in groups.items():
        if len(members) < min_size:
            continue
        for ids in clusters.cluster([(cid, words[cid]) for cid in members], idf):
            if len(ids) < min_size:
                continue
            ids.sort(key=lambda cid: info[cid][0])  # oldest first, as the rows came
            sample = ids[::max(1, len(ids) // TITLE_SAMPLE)]  # a large hotspot's words, from a sample
            newest = info[ids[-1]]
            found.append(Hotspot(
                area_id=area_id, area_name=areas[info[ids[0]][1]][1], category=category, ids=ids,
                residents=len({info[cid][2] for cid in ids}), latest=newest[3],
                words=clusters.draft_title(words[cid] for cid in sample),
                key=key_of(ids, max(info[cid][4] for cid in ids)),
                items=[Item(cid, "", info[cid][1], None) for cid in ids[:-SHOWN_ITEMS - 1:-1]]))
    found.sort(key=lambda h: h.ids[0])
    found.sort(key=lambda h: (h.count, h.latest), reverse=True)  # largest, then newest first (a stable sort)
    return found


def _segment(session: Session, missing: list[int]) -> dict[int, list[str]]:
    """Segment the complaints whose words are not kept yet (or were made by an older segmenter), and keep them."""
    words, fresh = {}, []
    for start in range(0, len(missing), 500):
        for cid, body in session.execute(select(Complaint.id, Complaint.text)
                                         .where(Complaint.id.in_(missing[start:start + 500]))):
            words[cid] = clusters.terms(body)
            fresh.append({"complaint_id": cid, "version": TERMS_VERSION, "terms": " ".join(words[cid])})
    if fresh:
        _upsert(session, fresh)
    return words


def _with_items(session: Session, found: list[Hotspot], names: dict[int, str]) -> list[Hotspot]:
    """The hotspots with the current text and grid of their newest complaints, as the page lists them."""
    wanted = [item.id for h in found for item in h.items]
    read = {}
    for start in range(0, len(wanted), 500):
        for cid, text, at in session.execute(select(Complaint.id, Complaint.text, Complaint.created_at)
                                             .where(Complaint.id.in_(wanted[start:start + 500]))):
            read[cid] = (text, at)
    out = []
    for h in found:
        items = [Item(i.id, read[i.id][0], names[i.unit], read[i.id][1]) for i in h.items]
        out.append(dataclasses.replace(h, items=items, latest=items[0].created_at))
    return out


def keep_terms(session: Session, *, limit: int = TERMS_BATCH) -> int:
    """The sweep's share (every `xinma worker` round): segment up to `limit` of the newest complaints awaiting triage
    whose words are not kept yet, so a busy village's page does not; drop the words of complaints no longer
    awaiting triage (a decided matter's words serve no hotspot, and must not outlive its text when retention
    removes it). Returns how many were segmented. In the caller's transaction."""
    session.execute(delete(ComplaintTerms).where(exists().where(Complaint.id == ComplaintTerms.complaint_id,
                                                                Complaint.state != OPEN))
                    .execution_options(synchronize_session=False))
    newest = session.scalar(select(func.max(Complaint.id))) or 0
    kept = exists().where(ComplaintTerms.complaint_id == Complaint.id, ComplaintTerms.version == TERMS_VERSION)
    rows = session.execute(select(Complaint.id, Complaint.text).where(
        Complaint.id > newest - TERMS_WINDOW, Complaint.state == OPEN, ~kept)  # the newest ids: a primary key range
        .order_by(Complaint.id.desc()).limit(limit)).all()
    if rows:
        _upsert(session, [{"complaint_id": cid, "version": TERMS_VERSION, "terms": " ".join(clusters.terms(body))}
                          for cid, body in rows])
    return len(rows)


def _ids(value: str) -> list[int]:
    """The hotspot's complaint ids, as the page's form sends them: "12,15,31"."""
    parts = [v.strip() for v in (value or "").split(",") if v.strip()]
    if any(not v.isdigit() or len(v) > 9 for v in parts):
        raise DomainError("hotspot_empty")
    ids = sorted({int(v) for v in parts})
    if not ids:
        raise DomainError("hotspot_empty")
    if len(ids) > MAX_COMPLAINTS:
        raise DomainError("hotspot_too_large", limit=MAX_COMPLAINTS)
    return ids


def make_topic(session: Session, staff: Staff, *, complaint_ids: str, key: str, title: str, category: str,
               summary: str = "") -> Topic:
    """One tap on a hotspot: propose a topic of its area and promote every complaint of it into the topic.

    The suggestion's `key` must still match its complaints (none decided meanwhile, none made a topic by an
    earlier tap), else `hotspot_stale` and nothing changes. Side effects, in one transaction: the topic is
    proposed (the area's secretaries are told), each complaint is promoted through the lifecycle (audited, its
    resident told), and residents whose complaints were merged into one of them are told too.
    """
    title = forms.text(title, "title_empty", TITLE_LIMIT, "title_too_long")
    category = forms.choice(category, DELIBERATION_CATEGORIES, "deliberation_category_unknown")
    ids = _ids(complaint_ids)
    complaints = list(session.scalars(select(Complaint).where(Complaint.id.in_(ids)).order_by(Complaint.id)))
    for c in complaints:
        if not in_scope(staff, c.unit):
            log.warning("staff %s tried a hotspot with complaint %s outside their units", staff.id, c.id)
            raise NotFound("complaint_not_found")
    latest = session.scalar(select(func.max(stored(Complaint.state_changed_at))).where(Complaint.id.in_(ids)))
    if len(complaints) != len(ids) or any(c.state != OPEN for c in complaints) or key_of(ids, latest) != key:
        raise Conflict("hotspot_stale")
    owners = {_owner(c.unit).id for c in complaints}
    if len(owners) != 1 or len({c.category for c in complaints}) != 1:
        raise DomainError("hotspot_mixed")
    owner = _owner(complaints[0].unit)
    actor = Actor.staff(staff)
    topic = Topic(unit_id=owner.id, title=title, summary=(summary or "").strip()[:2000], category=category,
                  proposed_by_id=staff.id)
    topic.unit = owner
    transition_topic(session, topic, "propose", actor=actor, data={"hotspot_complaints": len(ids)})
    data = {"topic_id": topic.id, "result": "promote", "detail": topic.title}
    for complaint in complaints:
        try:
            transition_complaint(session, complaint, "promote", actor=actor, reason=topic.title,
                                 data={**data, "hotspot": True}, expect=complaint.state_changed_at,
                                 values={"deliberable": True, "topic_id": topic.id, "topic": topic})
        except Conflict:  # decided by someone else since we read it: the whole tap is refused
            raise Conflict("hotspot_stale") from None
        _tell_followers(session, complaint, data)
    return topic


def _owner(unit: Unit) -> Unit:
    return nearest(unit, UnitLevel.community) or unit


def _tell_followers(session: Session, survivor: Complaint, data: dict) -> None:
    """Residents whose complaints were merged into `survivor` hear that it became a topic (as a promotion in
    triage tells them)."""
    followers = session.scalars(select(Complaint).where(Complaint.merged_into_id == survivor.id,
                                                        Complaint.state == ComplaintState.merged))
    for follower in followers:
        notify(session, "complaint_triaged", recipient_kind="resident", recipient_id=follower.resident_id,
               openid=follower.resident.openid,
               params={"complaint_id": follower.id, "category": follower.category, "unit_name": follower.unit.name,
                       "action": "promote", "state": ComplaintState.merged.value, "via_complaint_id": survivor.id,
                       "at": utcnow().isoformat(), **data})
