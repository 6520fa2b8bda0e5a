"""Requests name committed rows in one RPUSH; the workers' relay turns them into RQ jobs."""

from __future__ import annotations

import redis as redis_lib
from rq.job import Job
from rq.serializers import JSONSerializer

from workers.queues import HANDOFF, drain, handoff, make_queue


def test_the_relay_turns_handed_over_rows_into_jobs_once_each(redis):
    queue = make_queue(redis)
    assert handoff(redis, [("notification", 7), ("content_check", 3)])
    assert handoff(redis, [("notification", 8), ("content_check", 4), ("photo", 5)])
    assert handoff(redis, [("notification", 9), ("notification", 10), ("notification", 11)])  # a fan-out
    redis.rpush(HANDOFF, b"bogus:1", b"notification:x")  # not ours: ignored, not queued
    assert drain(queue, timeout=1) == 8
    assert redis.llen(HANDOFF) == 0
    jobs = {job_id: Job.fetch(job_id, connection=redis, serializer=JSONSerializer) for job_id in queue.job_ids}
    # as each transaction would have been relayed on its own: one job per submission's row, a batch for a fan-out
    assert sorted(jobs) == ["content-check-3", "content-check-4", "notification-7", "notification-8",
                            "notifications-9-11-3", "photo-5"]
    assert jobs["notifications-9-11-3"].args == [[9, 10, 11]]
    assert jobs["content-check-4"].func_name == "workers.jobs.check_complaint_content"
    assert drain(queue, timeout=0.1) == 0  # nothing waiting: returns after the timeout


def test_a_hand_over_with_redis_down_reports_failure_and_raises_nothing():
    down = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    assert handoff(down, [("notification", 1)]) is False
