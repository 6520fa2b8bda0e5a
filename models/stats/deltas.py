"""The statistics' running sums and their deltas: the tables, the keys each row counts under, the flush hook that
collects a transaction's changes, and `fold()`, which moves committed deltas into the sums (see models.stats)."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter

from sqlalchemy import BigInteger, Date, Integer, String, delete, event, func, insert, inspect, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from ..base import CHINA, Base, utcnow
from ..council import Assignment, MeetingDetail, MeetingOutcome, OutcomeResult, Rating
from ..entities import AuditEvent, Complaint, Meeting, Topic, Unit

BUCKET = 360  # seconds: the finest histogram slot, a tenth of an hour (the precision the page shows)
ANSWERS = ("decline", "solve", "merge", "promote")
FINISHED = ("not_deliberable", "solved", "closed")
COMPLAINT_FIELDS = ("unit_id", "created_at", "state", "reason_code", "qr_code_id", "state_changed_at")
TOPIC_FIELDS = ("unit_id", "created_at", "state")


class StatCell(Base):
    """One running sum: figure `key` for `unit_id` and everything below it, on `day` ('d'), or in the month ('m')
    or the year ('y') that starts on `day`."""

    __tablename__ = "stat_cells"

    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    key: Mapped[str] = mapped_column(String(48), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class StatDelta(Base):
    """A change to figure `key` of `unit_id` (its own, not yet rolled up) on `day`, waiting for `fold()`."""

    __tablename__ = "stat_deltas"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer)
    day: Mapped[dt.date] = mapped_column(Date)
    key: Mapped[str] = mapped_column(String(48))
    n: Mapped[int] = mapped_column(Integer)


def china_day(moment: dt.datetime) -> dt.date:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(CHINA).date()


def bucket(later: dt.datetime, earlier: dt.datetime) -> int:
    """The histogram slot of a duration, as its lower bound in tenths of an hour: 0.1 h wide below 10 h, 1 h wide
    below 240 h, a day wide beyond (so a district's five years need a few hundred slots, not tens of thousands)."""
    if later.tzinfo is None:
        later = later.replace(tzinfo=dt.UTC)
    if earlier.tzinfo is None:
        earlier = earlier.replace(tzinfo=dt.UTC)
    seconds = (later - earlier).total_seconds()
    if seconds < 36_000:
        return math.floor(seconds / BUCKET)
    if seconds < 864_000:
        return math.floor(seconds / 3600) * 10
    return math.floor(seconds / 86_400) * 240


def _value(v):
    return getattr(v, "value", v)


def complaint_keys(row: dict, first_answer: dt.datetime | None) -> tuple[dt.date, list[str]]:
    """The cohort day and the keys one complaint adds 1 to."""
    state = _value(row["state"])
    keys = [f"c|{state}|{row['reason_code'] or ''}|{int(row['qr_code_id'] is not None)}"]
    if state in FINISHED:
        keys.append(f"z|{bucket(row['state_changed_at'], row['created_at'])}")
    if first_answer is not None:
        keys.append(f"a|{bucket(first_answer, row['created_at'])}")
    return china_day(row["created_at"]), keys


def topic_keys(row: dict, assigned: bool, consensus: bool) -> tuple[dt.date, list[str]]:
    keys = [f"t|{_value(row['state'])}|{int(assigned)}"] + (["k"] if consensus else [])
    return china_day(row["created_at"]), keys


# --- the flush hook ------------------------------------------------------------------------------------------

_MISSING = object()


def _now(obj, name: str, rel: str | None = None):
    value = getattr(obj, name)
    if value is None and rel is not None and getattr(obj, rel, None) is not None:
        value = getattr(obj, rel).id  # a relationship set on a new row: its key column is filled at flush
    return value


def _before(obj, names: tuple[str, ...], session: Session, model) -> dict:
    """The values the row had in the database before this flush."""
    attrs = inspect(obj).attrs
    old = {}
    for name in names:
        hist = attrs[name].history
        old[name] = hist.deleted[0] if hist.deleted else hist.unchanged[0] if hist.unchanged else _MISSING
    if any(v is _MISSING for v in old.values()):
        key = inspect(model).primary_key[0]
        columns = [getattr(model, n) for n in names]
        old = dict(session.execute(select(*columns).where(key == inspect(obj).identity[0])).one()._mapping)
    return old


def _changed(obj, names: tuple[str, ...]) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[n].history.added for n in names) or (
        "unit_id" in names and hasattr(obj, "unit") and attrs["unit"].history.added)


class _Deltas:
    """The changes one flush makes, per (own unit, day, key)."""

    def __init__(self) -> None:
        self.cells: Counter = Counter()

    def add(self, unit_id: int, day: dt.date, keys: list[str], sign: int) -> None:
        for key in keys:
            self.cells[(unit_id, day, key)] += sign


def roll_up(session: Session, own: Counter) -> Counter:
    """Own-unit changes spread to the unit and every unit above it, at day, month and year grain."""
    units = {unit_id for unit_id, _, _ in own}
    paths = dict(session.execute(select(Unit.id, Unit.path).where(Unit.id.in_(units))).all()) if units else {}
    cells: Counter = Counter()
    for (unit_id, day, key), n in own.items():
        path = paths.get(unit_id) or f"/{unit_id}/"
        grains = (("d", day), ("m", day.replace(day=1)), ("y", day.replace(month=1, day=1)))
        for uid in (int(p) for p in path.strip("/").split("/") if p):
            for grain, start in grains:
                cells[(uid, grain, start, key)] += n
    return cells


def _first_answer_in_db(session: Session, complaint_id: int) -> dt.datetime | None:
    return session.scalar(select(func.min(AuditEvent.created_at)).where(
        AuditEvent.subject_kind == "complaint", AuditEvent.subject_id == complaint_id,
        AuditEvent.action.in_(ANSWERS)))


def _complaints(d: _Deltas, session: Session) -> None:
    answered: dict[int, dt.datetime] = {}
    for obj in session.new:
        if isinstance(obj, AuditEvent) and obj.subject_kind == "complaint" and obj.action in ANSWERS:
            at = obj.created_at or utcnow()
            answered[obj.subject_id] = min(at, answered.get(obj.subject_id, at))
    rows = {id(o): o for o in session.new if isinstance(o, Complaint)}
    rows.update({id(o): o for o in session.dirty if isinstance(o, Complaint) and _changed(o, COMPLAINT_FIELDS)})
    rows.update({id(o): o for cid in answered if (o := session.get(Complaint, cid)) is not None})
    for obj in rows.values():
        new = {n: _now(obj, n, "unit" if n == "unit_id" else None) for n in COMPLAINT_FIELDS}
        new["created_at"] = new["created_at"] or utcnow()
        new["state"] = new["state"] or "submitted"
        persistent = obj.id is not None and obj not in session.new
        old = _before(obj, COMPLAINT_FIELDS, session, Complaint) if persistent else None
        moved = old is not None and (old["unit_id"], old["created_at"]) != (new["unit_id"], new["created_at"])
        fa_old = fa_new = None
        if persistent and (obj.id in answered or moved):
            fa_old = fa_new = _first_answer_in_db(session, obj.id)
        if obj.id in answered:
            fa_new = min(x for x in (fa_old, answered[obj.id]) if x is not None)
        if old is not None:
            d.add(old["unit_id"], *complaint_keys(old, fa_old), -1)
        d.add(new["unit_id"], *complaint_keys(new, fa_new), +1)


def _exists(session: Session, model, *where) -> bool:
    return session.scalar(select(model.id).where(*where).limit(1)) is not None


def _topics(d: _Deltas, session: Session) -> None:
    new_assigned = {o.topic_id for o in session.new if isinstance(o, Assignment)}
    new_consensus = {o.topic_id for o in session.new
                     if isinstance(o, MeetingOutcome) and _value(o.result) == OutcomeResult.consensus.value}
    rows = {id(o): o for o in session.new if isinstance(o, Topic)}
    rows.update({id(o): o for o in session.dirty if isinstance(o, Topic) and _changed(o, TOPIC_FIELDS)})
    rows.update({id(o): o for tid in new_assigned | new_consensus if (o := session.get(Topic, tid)) is not None})
    for obj in rows.values():
        new = {n: _now(obj, n, "unit" if n == "unit_id" else None) for n in TOPIC_FIELDS}
        new["created_at"] = new["created_at"] or utcnow()
        new["state"] = new["state"] or "proposed"
        persistent = obj.id is not None and obj not in session.new
        if not persistent:
            d.add(new["unit_id"], *topic_keys(new, False, False), +1)
            continue
        old = _before(obj, TOPIC_FIELDS, session, Topic)
        assigned = _exists(session, Assignment, Assignment.topic_id == obj.id)
        consensus = _exists(session, MeetingOutcome, MeetingOutcome.topic_id == obj.id,
                            MeetingOutcome.result == OutcomeResult.consensus)
        d.add(old["unit_id"], *topic_keys(old, assigned, consensus), -1)
        d.add(new["unit_id"], *topic_keys(new, assigned or obj.id in new_assigned,
                                          consensus or obj.id in new_consensus), +1)


def _ratings_and_meetings(d: _Deltas, session: Session) -> None:
    for obj in session.new:
        if isinstance(obj, Rating):
            unit_id = session.scalar(select(Topic.unit_id).where(Topic.id == obj.topic_id))
            d.add(unit_id, china_day(obj.created_at or utcnow()), [f"r|{_value(obj.level)}"], +1)
    details = [o for o in session.new if isinstance(o, MeetingDetail)]
    details += [o for o in session.dirty if isinstance(o, MeetingDetail) and _changed(o, ("held_at",))]
    for obj in details:
        unit_id = session.scalar(select(Meeting.unit_id).where(Meeting.id == obj.meeting_id))
        if obj not in session.new:
            old = _before(obj, ("held_at",), session, MeetingDetail)["held_at"]
            if old is not None:
                d.add(unit_id, china_day(old), ["m"], -1)
        if obj.held_at is not None:
            d.add(unit_id, china_day(obj.held_at), ["m"], +1)


def _collect(session: Session, _flush_context, _instances) -> None:
    watched = (Complaint, Topic, Assignment, MeetingOutcome, MeetingDetail, Rating, AuditEvent)
    if not any(isinstance(o, watched) for o in (*session.new, *session.dirty)):
        return
    d = _Deltas()
    _complaints(d, session)
    _topics(d, session)
    _ratings_and_meetings(d, session)
    pending = session.info.setdefault("stat_deltas", Counter())
    pending.update(d.cells)


def count_complaint(session: Session, row: dict) -> None:
    """Count a new complaint written with Core (no ORM object for the flush hook to see): `row` holds
    COMPLAINT_FIELDS. Side effect: adds to the transaction's pending changes, written at commit."""
    d = _Deltas()
    d.add(row["unit_id"], *complaint_keys(row, None), +1)
    session.info.setdefault("stat_deltas", Counter()).update(d.cells)


def apply_pending(session: Session) -> None:
    """Append the changes this transaction made (plain INSERTs, no summary row locked); reads see them at once."""
    pending = session.info.pop("stat_deltas", None)
    if not pending:
        return
    rows = [{"unit_id": k[0], "day": k[1], "key": k[2], "n": n} for k, n in sorted(pending.items()) if n]
    if rows:  # Core on the session's connection: the ORM's bulk-insert path costs more than the row
        session.connection().execute(_INSERT_DELTAS, rows)


_INSERT_DELTAS = insert(StatDelta.__table__)


def fold(session: Session, limit: int = 20_000) -> int:
    """Move up to `limit` committed deltas, oldest first, into the running sums; returns how many were folded.

    One transaction (the caller commits): the deltas are deleted and their sums upserted together, so a reader
    sees either both or neither. Concurrent folds take disjoint deltas (SKIP LOCKED on PostgreSQL) and upsert the
    summary rows in sorted order, so they never deadlock. Side effects: deletes from stat_deltas, upserts
    stat_cells.
    """
    deltas = StatDelta.__table__
    oldest = select(deltas.c.id).order_by(deltas.c.id).limit(limit).with_for_update(skip_locked=True)
    taken = session.execute(delete(deltas).where(deltas.c.id.in_(oldest.scalar_subquery()))
                            .returning(deltas.c.unit_id, deltas.c.day, deltas.c.key, deltas.c.n)).all()
    own: Counter = Counter()
    for unit_id, day, key, n in taken:
        own[(unit_id, day, key)] += n
    rows = [{"unit_id": k[0], "grain": k[1], "day": k[2], "key": k[3], "n": n}
            for k, n in sorted(roll_up(session, own).items()) if n]
    if rows:
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as upsert
        else:
            from sqlalchemy.dialects.sqlite import insert as upsert
        stmt = upsert(StatCell.__table__)
        stmt = stmt.on_conflict_do_update(index_elements=["unit_id", "grain", "day", "key"],
                                          set_={"n": StatCell.__table__.c.n + stmt.excluded.n})
        session.execute(stmt, rows)
    return len(taken)


def _write(session: Session) -> None:
    session.flush()
    apply_pending(session)


def _forget(session: Session) -> None:
    session.info.pop("stat_deltas", None)


def watch(factory: sessionmaker) -> None:
    """Keep the sums of every session `factory` makes: collect each flush's changes, append them at commit, drop
    them at rollback (models.db.make_sessionmaker calls it; sessions made otherwise write no deltas)."""
    event.listen(factory, "before_flush", _collect)
    event.listen(factory, "before_commit", _write)
    event.listen(factory, "after_rollback", _forget)
