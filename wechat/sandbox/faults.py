"""Fault switches and the wrapper every fake WeChat endpoint goes through (latency, errors, call counts).

The latency switch: a `latency_ms` fault (count null = until cleared) makes each matching call answer after that
many milliseconds; `POST /_sandbox/faults {"endpoint": "*", "type": "latency_ms", "value": 20, "count": null}`
or `python -m wechat --latency-ms 20`. Benchmarks rely on it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

import flask

from .state import Refusal, Sandbox, wechat_error


def add_fault(sb: Sandbox, *, endpoint: str, kind: str, value, errmsg: str | None = None, acts: bool = True,
              count: int | None = 1) -> dict:
    """Install one fault (validated by the caller). Side effect: state; returns the fault as stored."""
    state = sb.state
    with state.lock:
        state.fault_seq += 1
        fault = {"id": state.fault_seq, "endpoint": endpoint, "type": kind, "value": value, "errmsg": errmsg,
                 "acts": acts, "remaining": count, "fired": 0}
        state.faults.append(fault)
        return dict(fault)


def take_faults(sb: Sandbox, kind: str) -> tuple[float, dict | None]:
    """Consume the faults that apply to this call: (seconds to sleep, answering fault or None).

    A `timeout` fault holds the answer back for `value` seconds, so the caller gives up first. What WeChat
    did meanwhile is what a caller can never know: by default the call still acts when the delay is over
    (a slow server: the message arrives late); with `"acts": false` it is lost before WeChat's handler
    (an overloaded front end), answers 504 and changes nothing.
    """
    state = sb.state
    sleep = 0.0
    answer = None
    with state.lock:
        for fault in state.faults:
            if fault["endpoint"] not in (kind, "*"):
                continue
            if fault["type"] == "latency_ms":
                sleep += float(fault["value"]) / 1000
            elif fault["type"] == "timeout":
                sleep += float(fault["value"])
                if not fault.get("acts", True) and answer is None:
                    answer = fault
            elif answer is None:
                answer = fault
            else:
                continue
            fault["fired"] += 1
            if fault["remaining"] is not None:
                fault["remaining"] -= 1
        state.faults = [f for f in state.faults if f["remaining"] is None or f["remaining"] > 0]
    return sleep, answer


def _count(sb: Sandbox, kind: str, outcome: str) -> None:
    with sb.state.lock:
        sb.state.calls[kind][outcome] += 1


def wechat_endpoint(sb: Sandbox, kind: str, one_at_a_time: Callable[[], str | None] | None = None):
    """Decorate a fake WeChat handler: faults first, then the handler; a Refusal becomes WeChat's error answer.

    `one_at_a_time` names the user a call is for (subscribeMessage.send: `touser`); a second call for the same
    user while one is in progress, its latency included, is refused with 43108 as WeChat refuses concurrent
    sends to one user.
    """

    def decorate(handler):
        @functools.wraps(handler)
        def wrapper(*args, **kwargs):
            busy = one_at_a_time() if one_at_a_time else None
            if busy:
                with sb.state.lock:
                    clash = busy in sb.state.sending
                    sb.state.sending.add(busy)
                if clash:
                    _count(sb, kind, "failed")
                    return wechat_error(43108, "concurrent calls to the same user are not allowed")
            try:
                return _answer(handler, kind, args, kwargs)
            finally:
                if busy:
                    with sb.state.lock:
                        sb.state.sending.discard(busy)

        def _answer(handler, kind, args, kwargs):
            sleep, fault = take_faults(sb, kind)
            if sleep:
                time.sleep(sleep)
            if fault is not None:
                _count(sb, kind, "failed")
                if fault["type"] == "http_500":
                    return flask.Response("<html><body>500 Internal Server Error</body></html>", 500)
                if fault["type"] == "timeout":
                    return flask.Response("<html><body>504 Gateway Time-out</body></html>", 504)
                return wechat_error(int(fault["value"]), fault.get("errmsg") or "injected fault")
            try:
                response = handler(*args, **kwargs)
            except Refusal as refusal:
                _count(sb, kind, "failed")
                return wechat_error(refusal.errcode, refusal.errmsg)
            _count(sb, kind, "ok")
            return response

        return wrapper

    return decorate
