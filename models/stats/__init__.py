"""Running sums behind the statistics page: one row per (unit, day or month or year, figure key), rolled up to
every unit above, so a subtree over a period is one index range on (unit_id, grain, day).

A flush hook, registered on the project's sessionmaker (`watch`, called by models.db.make_sessionmaker), watches
complaints, topics, 领办 assignments, meeting outcomes, meetings held and ratings. For each changed row it
subtracts what the row contributed before and adds what it contributes now, on the China-time day the figure
belongs to; a new complaint, written with Core by models.lifecycle.transition_complaint, is counted by it
explicitly (`count_complaint`). Those changes are appended to `stat_deltas` at commit, in one INSERT
(`apply_pending`), for the row's own unit only: concurrent submissions never wait on one another for the
district's summary rows.
`fold()` (run by every worker's sweep) moves committed deltas into the sums, for the unit and each unit above it
at day, month and year grain, in one transaction (models/stats/deltas.py); `sums()` reads the sums and the deltas
not yet folded in one statement, so the figures are exact at every moment; `rebuild()` recomputes everything from
the base tables (`xinma stats rebuild`): run it after loading data with SQL, or after moving units to another
parent (models/stats/sums.py).

Keys (durations are histograms, see bucket(); the medians are taken from them, to the slot's lower bound):
  c|<state>|<reason>|<qr>   complaints received that day, by present state, reason code and whether a 心码 was used
  a|<bucket>                time from receipt to the first triage answer
  z|<bucket>                time from receipt to closure (for finished complaints)
  t|<state>|<assigned>      topics raised that day, by present state and whether someone leads it (领办)
  k                         topics raised that day that reached consensus at a meeting
  r|<level>                 ratings given that day
  m                         meetings held that day
"""

from ..base import CHINA  # noqa: F401 - the zone the days are counted in, for callers of this package
from .deltas import (  # noqa: F401 - the package's public names
    ANSWERS,
    BUCKET,
    StatCell,
    StatDelta,
    apply_pending,
    bucket,
    china_day,
    complaint_keys,
    count_complaint,
    fold,
    roll_up,
    topic_keys,
    watch,
)
from .sums import rebuild, segments, sums  # noqa: F401
