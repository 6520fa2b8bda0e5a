"""Intake jobs: a photo's thumbnail and its WeChat media check. Each takes a row id and is safe to run twice."""

from __future__ import annotations

import logging

from models.intake import Photo, add_photo_file
from wechat import WeChatRetryable, WeChatUserInactive

from .runtime import final_attempt, runtime

log = logging.getLogger(__name__)


def process_photo(photo_id: int) -> str:
    """Make the photo's thumbnail, then submit it to mediaCheckAsync; the verdict arrives on the push endpoint.

    Side effects: adds the thumbnail's bytes (`<name>.thumb.jpg`) in the database, read from and written to nothing
    else; one WeChat call; stores the trace id. Retries on transient WeChat errors; a user WeChat will not check
    (inactive) leaves the photo for staff review.
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
        if photo.media_trace_id is not None:
            return "submitted"
        if photo.resident.openid is None:
            # An H5 resident has no openid for WeChat's media check: staff look at the photo instead.
            photo.media_check = "review"
            session.commit()
            return "review"
        url = signed_media_url(rt.settings, photo.name)
        try:
            trace_id = rt.wechat.media_check_async(photo.resident.openid, url)
        except WeChatUserInactive:
            photo.media_check = "review"
            session.commit()
            return "review"
        except WeChatRetryable:
            if not final_attempt():
                raise
            photo.media_check = "review"
            session.commit()
            return "review"
        photo.media_trace_id = trace_id
        session.commit()
        return "submitted"
