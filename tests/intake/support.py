"""Helpers the intake tests share: sign in as a phone would, send complaints, count rows, build images."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import func, select

from models import AuditEvent, Complaint, Notification, Resident, ResidentSession
from models.intake import ComplaintContact, IdempotencyKey, Photo


def sign_in(client, wechat_sandbox, openid="o-zhang") -> str:
    res = client.post("/api/v1/sessions", json={"code": wechat_sandbox.login_code(openid)})
    assert res.status_code == 201, res.json
    return res.json["data"]["token"]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def counts(app) -> tuple[int, ...]:
    with app.extensions["xinma.sessionmaker"]() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(m))
            for m in (Complaint, Notification, AuditEvent, Resident, ResidentSession, Photo, ComplaintContact,
                      IdempotencyKey)
        )


def refused(res, status: int, code: str):
    assert res.status_code == status, (res.status_code, res.get_data(as_text=True)[:300])
    assert res.json["ok"] is False
    assert res.json["error"]["code"] == code
    assert res.json["error"]["message"]
    return res


def jpeg(size=(40, 20), color=(200, 30, 30), exif=None) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", **({"exif": exif} if exif is not None else {}))
    return out.getvalue()


def png(size=(30, 30), mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, "PNG")
    return out.getvalue()


def upload(client, token: str, data: bytes, filename="photo.jpg", content_type="image/jpeg"):
    return client.post("/api/v1/photos", data={"file": (io.BytesIO(data), filename, content_type)},
                       headers=auth(token), content_type="multipart/form-data")
