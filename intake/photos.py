"""Photo uploads: type decided by content, size and pixels bounded before decoding, re-encoded without metadata.

The bytes (and the thumbnail's) live in the database under server-made names, so any node serves any photo; the
photo's row says whose it is.
"""

from __future__ import annotations

import io
import secrets
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps
from sqlalchemy.orm import Session

from models import DomainError, NotFound, Resident, utcnow
from models.intake import Photo, PhotoFile, add_photo_file, photo_visible_to

MAX_BYTES = 2 * 1024 * 1024 - 64 * 1024  # below the app's request limit, leaving room for the form
MAX_PIXELS = 12_000_000  # ~4000x3000; Pillow's own bomb threshold is ~89 million
MAX_SIDE = 8000
MAX_PER_COMPLAINT = 6
THUMB_SIDE = 320

# magic bytes -> (Pillow format, content type, file suffix)
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}


def sniff(data: bytes) -> str | None:
    """The image format the bytes really are (JPEG, PNG, WEBP), whatever the name or declared type say."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


@dataclass(frozen=True)
class CleanImage:
    format: str
    data: bytes
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return FORMATS[self.format][0]

    @property
    def suffix(self) -> str:
        return FORMATS[self.format][1]


def clean_image(data: bytes) -> CleanImage:
    """Check and re-encode an uploaded image: orientation applied, EXIF/GPS and other metadata dropped.

    Refuses (DomainError) by content type, byte size, and pixel count read from the header before decoding.
    """
    if len(data) > MAX_BYTES:
        raise DomainError("photo_too_large", status=413, limit_mb=MAX_BYTES // (1024 * 1024) or 1)
    fmt = sniff(data)
    if fmt is None:
        raise DomainError("photo_type_unsupported", status=415)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[fmt])  # reads the header only
            width, height = image.size
            if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
                raise DomainError("photo_too_many_pixels", status=413)
            image.load()
            upright = ImageOps.exif_transpose(image)
            if fmt == "JPEG" and upright.mode not in ("RGB", "L"):
                upright = upright.convert("RGB")
            if fmt != "JPEG" and upright.mode not in ("RGB", "RGBA", "L", "LA", "P"):
                upright = upright.convert("RGBA")
            out = io.BytesIO()
            options = {"JPEG": {"quality": 85, "optimize": True}, "PNG": {"optimize": True},
                       "WEBP": {"quality": 85}}[fmt]
            # A fresh save without exif=/icc_profile=/pnginfo= writes none of the source's metadata.
            upright.save(out, fmt, **options)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DomainError("photo_too_many_pixels", status=413) from None
    except DomainError:
        raise
    except Exception:  # truncated or corrupt: Pillow raises many kinds
        raise DomainError("photo_unreadable", status=415) from None
    return CleanImage(fmt, out.getvalue(), upright.width, upright.height)


def store_photo(session: Session, resident: Resident, data: bytes) -> Photo:
    """Clean and keep one uploaded photo for the resident; the thumbnail and media check follow in a job.

    Side effects: adds the photo's bytes and its row; defers the `photo` job.
    """
    return keep_photo(session, resident, clean_image(data))


def keep_photo(session: Session, resident: Resident, clean: CleanImage) -> Photo:
    """Keep an image clean_image already accepted; the thumbnail and media check follow in a job.

    Side effects: adds the photo's bytes under a server-made name and its row; defers the `photo` job.
    """
    from models.lifecycle import defer

    name = f"{secrets.token_hex(16)}.{clean.suffix}"
    add_photo_file(session, name, clean.content_type, clean.data)
    photo = Photo(name=name, resident_id=resident.id, content_type=clean.content_type, width=clean.width,
                  height=clean.height, size=len(clean.data), created_at=utcnow())
    session.add(photo)
    session.flush()
    defer(session, "photo", photo)
    return photo


def make_thumbnail(data: bytes) -> bytes:
    """A JPEG thumbnail (THUMB_SIDE on the longer side) of an already cleaned photo."""
    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail((THUMB_SIDE, THUMB_SIDE))
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        out = io.BytesIO()
        image.save(out, "JPEG", quality=80)
    return out.getvalue()


# mediaCheckAsync reads jpg, png, bmp and gif only
# (https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/sec-center/sec-check/mediaCheckAsync.html).
CHECKABLE = frozenset({"image/jpeg", "image/png", "image/bmp", "image/gif"})


def bytes_for_check(session: Session, photo: Photo) -> tuple[bytes, str]:
    """The photo as WeChat's image check can read it: (bytes, content type); a WEBP photo is sent as JPEG.

    No side effects: the stored photo stays as it is.
    """
    data = photo_file(session, photo).data
    if photo.content_type in CHECKABLE:
        return data, photo.content_type
    with Image.open(io.BytesIO(data)) as image:
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            flat = Image.new("RGB", image.size, (255, 255, 255))  # transparent parts shown on white, as in chat
            flat.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        else:
            flat = image.convert("RGB")
        out = io.BytesIO()
        flat.save(out, "JPEG", quality=90)
    return out.getvalue(), "image/jpeg"


def photo_file(session: Session, photo: Photo, *, thumbnail: bool = False) -> PhotoFile:
    """The stored bytes of a photo or of its thumbnail; `thumbnail_not_ready` (404) until the job has made it."""
    if thumbnail and photo.thumbnail_name is None:
        raise DomainError("thumbnail_not_ready", status=404)
    row = session.get(PhotoFile, photo.thumbnail_name if thumbnail else photo.name)
    if row is None:
        raise NotFound("photo_not_found")
    return row


def visible_photo(session: Session, photo_id: int, *, resident: Resident | None = None, staff=None) -> Photo:
    """A photo the caller may see; any other answers exactly like a missing one."""
    photo = session.get(Photo, photo_id) if -2**31 < photo_id < 2**31 else None
    if photo is None or not photo_visible_to(photo, resident=resident, staff=staff):
        raise NotFound("photo_not_found")
    return photo


def photo_json(photo: Photo) -> dict:
    return {"id": photo.id, "content_type": photo.content_type, "width": photo.width, "height": photo.height,
            "url": f"/api/v1/photos/{photo.id}", "thumbnail_url": f"/api/v1/photos/{photo.id}/thumbnail",
            "thumbnail_ready": photo.thumbnail_name is not None}
