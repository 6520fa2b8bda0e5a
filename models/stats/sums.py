"""Reading the statistics' running sums (`sums`), and rebuilding them from the base tables (`rebuild`)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import (
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    func,
    insert,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session

from ..council import Assignment, MeetingDetail, MeetingOutcome, OutcomeResult, Rating
from ..entities import AuditEvent, Complaint, Meeting, Topic, Unit
from .deltas import (
    ANSWERS,
    COMPLAINT_FIELDS,
    StatCell,
    StatDelta,
    _value,
    apply_pending,
    china_day,
    complaint_keys,
    topic_keys,
)


def _month_after(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def segments(start: dt.date | None, end: dt.date | None) -> list[tuple[str, dt.date, dt.date]]:
    """The fewest (grain, first day, day after) runs covering start..end: whole years, then whole months, then days."""
    day = start or dt.date(1900, 1, 1)
    stop = end + dt.timedelta(days=1) if end else dt.date(2100, 1, 1)
    runs: list[tuple[str, dt.date, dt.date]] = []
    while day < stop:
        if day.month == 1 and day.day == 1 and dt.date(day.year + 1, 1, 1) <= stop:
            grain, after = "y", dt.date(day.year + 1, 1, 1)
        elif day.day == 1 and _month_after(day) <= stop:
            grain, after = "m", _month_after(day)
        else:
            grain, after = "d", day + dt.timedelta(days=1)
        if runs and runs[-1][0] == grain and runs[-1][2] == day:
            runs[-1] = (grain, runs[-1][1], after)
        else:
            runs.append((grain, day, after))
        day = after
    return runs


def sums(session: Session, unit_id: int, start: dt.date | None, end: dt.date | None) -> dict[str, int]:
    """Every key's total for the unit and the units below it over the days start..end (either may be open),
    from year, month and day rows (at most a couple of dozen rows per key whatever the period) and the deltas not
    yet folded, in one statement."""
    apply_pending(session)
    cells = StatCell.__table__.c
    base = select(cells.key, cells.n).where(cells.unit_id == unit_id)
    parts = [base.where(cells.grain == grain, cells.day >= first, cells.day < after)
             for grain, first, after in segments(start, end)]
    if not parts:
        return {}
    deltas = StatDelta.__table__.c
    waiting = (select(deltas.key, deltas.n).join(Unit, Unit.id == deltas.unit_id)
               .where(Unit.path.like(f"%/{int(unit_id)}/%")))
    if start is not None:
        waiting = waiting.where(deltas.day >= start)
    if end is not None:
        waiting = waiting.where(deltas.day <= end)
    everything = union_all(*parts, waiting).subquery()
    query = select(everything.c.key, func.sum(everything.c.n)).group_by(everything.c.key)
    return {key: int(n) for key, n in session.execute(query) if n}


# --- rebuilding from the base tables ----------------------------------------------------------------------------

_scratch = MetaData()
_own = Table("stat_own", _scratch, Column("unit_id", Integer), Column("day", Date), Column("key", String(48)),
             Column("n", Integer), prefixes=["TEMPORARY"])
_up = Table("stat_up", _scratch, Column("unit_id", Integer), Column("ancestor_id", Integer), prefixes=["TEMPORARY"])


def rebuild(session: Session, chunk: int = 20_000) -> int:
    """Recompute every running sum from the base tables, in the caller's transaction; returns the row count.

    On PostgreSQL the sums and the deltas are locked first, so transactions committing meanwhile wait and add their
    changes after it; the deltas already committed are in the base tables the rebuild reads, so they are dropped.
    """
    session.info.pop("stat_deltas", None)
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        conn.execute(text("LOCK TABLE stat_cells, stat_deltas IN EXCLUSIVE MODE"))
    conn.execute(StatDelta.__table__.delete())
    _scratch.drop_all(conn, checkfirst=True)
    _scratch.create_all(conn)
    conn.execute(StatCell.__table__.delete())
    paths = dict(conn.execute(select(Unit.id, Unit.path)).all())
    up = [{"unit_id": uid, "ancestor_id": int(a)} for uid, path in paths.items()
          for a in path.strip("/").split("/") if a]
    for i in range(0, len(up), chunk):
        conn.execute(insert(_up), up[i:i + chunk])

    own: Counter = Counter()

    def spill() -> None:
        if postgres:  # COPY: the rebuild of a district's five years writes millions of these
            with conn.connection.driver_connection.cursor() as cur, \
                    cur.copy("COPY stat_own (unit_id, day, key, n) FROM STDIN") as copy:
                for (unit_id, day, key), n in own.items():
                    copy.write_row((unit_id, day, key, n))
        else:
            rows = [{"unit_id": k[0], "day": k[1], "key": k[2], "n": n} for k, n in own.items()]
            for i in range(0, len(rows), chunk):
                conn.execute(insert(_own), rows[i:i + chunk])
        own.clear()

    def count(unit_id: int, day: dt.date, keys: list[str]) -> None:
        for key in keys:
            own[(unit_id, day, key)] += 1
        if len(own) >= 200_000:
            spill()

    first = (select(AuditEvent.subject_id.label("cid"), func.min(AuditEvent.created_at).label("at"))
             .where(AuditEvent.subject_kind == "complaint", AuditEvent.action.in_(ANSWERS))
             .group_by(AuditEvent.subject_id).subquery())
    columns = [getattr(Complaint, n) for n in COMPLAINT_FIELDS]
    result = session.execute(select(*columns, first.c.at).outerjoin(first, first.c.cid == Complaint.id)
                             .execution_options(yield_per=chunk))
    for row in result:
        values = dict(zip(COMPLAINT_FIELDS, row[:-1], strict=True))
        count(values["unit_id"], *complaint_keys(values, row[-1]))
    assigned = select(Assignment.topic_id).scalar_subquery()
    agreed = select(MeetingOutcome.topic_id).where(MeetingOutcome.result == OutcomeResult.consensus).scalar_subquery()
    for unit_id, created_at, state, has_assignment, has_consensus in session.execute(
            select(Topic.unit_id, Topic.created_at, Topic.state, Topic.id.in_(assigned), Topic.id.in_(agreed))
            .execution_options(yield_per=chunk)):
        row = {"created_at": created_at, "state": state}
        count(unit_id, *topic_keys(row, bool(has_assignment), bool(has_consensus)))
    for unit_id, created_at, level in session.execute(
            select(Topic.unit_id, Rating.created_at, Rating.level).join(Topic, Topic.id == Rating.topic_id)
            .execution_options(yield_per=chunk)):
        count(unit_id, china_day(created_at), [f"r|{_value(level)}"])
    for unit_id, held_at in session.execute(select(Meeting.unit_id, MeetingDetail.held_at).join(
            MeetingDetail, MeetingDetail.meeting_id == Meeting.id).where(MeetingDetail.held_at.is_not(None))):
        count(unit_id, china_day(held_at), ["m"])
    spill()

    cells = StatCell.__table__
    rolled = (select(_up.c.ancestor_id, literal_column("'d'"), _own.c.day, _own.c.key, func.sum(_own.c.n))
              .join(_up, _up.c.unit_id == _own.c.unit_id)
              .group_by(_up.c.ancestor_id, _own.c.day, _own.c.key).order_by(_up.c.ancestor_id, _own.c.day))
    conn.execute(insert(cells).from_select(["unit_id", "grain", "day", "key", "n"], rolled))
    for grain, unit in (("m", "month"), ("y", "year")):
        start = (func.date_trunc(unit, cells.c.day).cast(Date) if postgres
                 else func.date(cells.c.day, f"start of {unit}"))
        coarser = (select(cells.c.unit_id, literal_column(f"'{grain}'"), start, cells.c.key, func.sum(cells.c.n))
                   .where(cells.c.grain == "d").group_by(cells.c.unit_id, start, cells.c.key)
                   .order_by(cells.c.unit_id, start))  # stored in index order: a unit's rows share pages
        conn.execute(insert(cells).from_select(["unit_id", "grain", "day", "key", "n"], coarser))
    _scratch.drop_all(conn)
    return session.scalar(select(func.count()).select_from(cells))
