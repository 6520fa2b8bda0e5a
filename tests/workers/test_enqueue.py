"""After a commit its rows' jobs go into RQ in one pipeline, each id at most once, atomically."""

from __future__ import annotations

import threading

import redis as redis_lib
from rq.job import Job
from rq.serializers import JSONSerializer

from workers.queues import BUCKET, enqueue, enqueue_unique, make_queue, wake_jobs


def test_a_commit_wakes_the_delivery_jobs_of_its_bucket_and_queues_a_photo_job(redis):
    queue = make_queue(redis)
    assert enqueue(queue, [("notification", 7), ("content_check", 3), ("photo", 5)]) == 3
    jobs = {job_id: Job.fetch(job_id, connection=redis, serializer=JSONSerializer) for job_id in queue.job_ids}
    delivery = sorted(j for j in jobs if j.startswith("deliver-"))
    assert len(delivery) == 2 and delivery[0].endswith("-0") and delivery[1].endswith("-1")
    assert {jobs[j].func_name for j in delivery} == {"workers.delivery.deliver"}
    assert jobs["photo-5"].func_name == "workers.intake_jobs.process_photo" and jobs["photo-5"].args == [5]
    assert jobs["photo-5"].retries_left == 5  # a photo's media check keeps RQ's back-off


def test_the_same_job_ids_from_many_processes_at_once_are_queued_once(redis):
    """Eight web processes commit in the same bucket: each bucket's jobs are queued once, whoever comes first."""
    specs = wake_jobs(123456) + wake_jobs(123457)
    added, start = [], threading.Barrier(8)

    def commit() -> None:
        queue = make_queue(redis_lib.Redis(connection_pool=redis.connection_pool))
        start.wait()
        added.append(enqueue_unique(queue, specs))

    threads = [threading.Thread(target=commit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    queue = make_queue(redis)
    assert sum(added) == 4
    assert sorted(queue.job_ids) == sorted(job_id for _, _, job_id, _ in specs)
    assert enqueue_unique(queue, specs) == 0 and queue.count == 4


def test_a_process_wakes_a_bucket_once_and_the_next_bucket_again(redis):
    import time

    queue = make_queue(redis)
    time.sleep(BUCKET - time.time() % BUCKET)  # at the start of a bucket: the calls below fall in the same one
    assert enqueue(queue, [("notification", 1)]) == 2
    assert enqueue(queue, [("notification", 2)]) == 0  # this bucket's jobs are woken already
    time.sleep(BUCKET)
    assert enqueue(queue, [("notification", 3)]) == 2
    assert queue.count == 4


def test_enqueue_with_redis_down_reports_failure_and_raises_nothing():
    down = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    assert enqueue(make_queue(down), [("notification", 1), ("photo", 2)]) == -1
