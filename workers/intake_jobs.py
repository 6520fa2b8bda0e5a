"""Intake jobs: a photo's thumbnail and its WeChat media check. Each takes a row id and is safe to run twice."""

from __future__ import annotations

import logging

from models.intake import Photo, add_photo_file, photo_check_asked, photo_to_review
from wechat import WeChatError, WeChatRetryable, WeChatUserInactive

from .runtime import final_attempt, runtime

log = logging.getLogger(__name__)


def process_photo(photo_id: int) -> str:
    """Make the photo's thumbnail, then submit it to mediaCheckAsync; the verdict arrives on the push endpoint.

    Side effects: adds the thumbnail's bytes (`<name>.thumb.jpg`) in the database, read from and written to nothing
    else; one WeChat call; stores the trace id (audited: when the check was asked). Retries on transient WeChat
    errors, a bounded number of times; any other WeChat error, or the last retry failing, leaves the photo for
    staff review with the errcode in its audit event.
    """
    from intake.photos import make_thumbnail, photo_file
    from intake.push import signed_media_url

    rt = runtime()
    with rt.session() as session:
        photo = session.get(Photo, photo_id)
        if photo is None:
            return "missing"
        if photo.thumbnail_name is None:
            thumb = photo.name.rsplit(".", 1)[0] + ".thumb.jpg"
            add_photo_file(session, thumb, "image/jpeg", make_thumbnail(photo_file(session, photo).data))
            photo.thumbnail_name = thumb
            session.commit()
        if photo.media_check is not None:  # judged already, or left to staff by an earlier run
            return photo.media_check
        if photo.media_trace_id is not None:
            return "submitted"
        if photo.resident.openid is None:
            # An H5 resident has no openid for WeChat's media check: staff look at the photo instead.
            photo_to_review(session, photo, "no_openid")
            session.commit()
            return "review"
        url = signed_media_url(rt.settings, photo.name)
        try:
            trace_id = rt.wechat.media_check_async(photo.resident.openid, url)
        except WeChatRetryable as exc:
            if not final_attempt():
                raise  # RQ tries again after its back-off (JOBS["photo"]: a bounded number of times)
            photo_to_review(session, photo, "wechat_unreachable", errcode=exc.errcode)
            session.commit()
            return "review"
        except WeChatError as exc:  # WeChat refused the check itself (inactive user, bad argument, misconfigured)
            reason = "user_inactive" if isinstance(exc, WeChatUserInactive) else "wechat_error"
            photo_to_review(session, photo, reason, errcode=exc.errcode)
            session.commit()
            return "review"
        photo_check_asked(session, photo, trace_id)
        session.commit()
        return "submitted"
