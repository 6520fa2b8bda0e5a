"""Photos: type by content, bombs refused before decoding, metadata gone, kept in the database, served privately
with nosniff."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import time

from PIL import Image
from sqlalchemy import func, select

from models.intake import Photo, PhotoFile

from .support import auth, counts, jpeg, png, refused, sign_in, upload

GPS = {1: "N", 2: (34.0, 12.0, 5.0), 3: "E", 4: (117.0, 11.0, 0.0)}


def gps_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = GPS
    return jpeg(size=(40, 20), exif=exif.tobytes())


def stored(app, photo_id: int) -> tuple[Photo, bytes]:
    """The photo's row and the bytes the database keeps for it."""
    with app.extensions["xinma.sessionmaker"]() as session:
        photo = session.get(Photo, photo_id)
        return photo, session.get(PhotoFile, photo.name).data


def files_in(app) -> int:
    with app.extensions["xinma.sessionmaker"]() as session:
        return session.scalar(select(func.count()).select_from(PhotoFile))


def instance_files(app) -> list[str]:
    """What the web node wrote to its own folder (its secret key aside): another node would not see it."""
    instance = app.config["XINMA"].instance
    return sorted(str(p.relative_to(instance)) for p in instance.rglob("*") if p.name != "secret_key")


def test_jpeg_with_gps_is_stored_without_it_and_upright(client, wechat_sandbox, app, demo):
    token = sign_in(client, wechat_sandbox)
    original = gps_jpeg()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825) == GPS
    res = upload(client, token, original, filename="IMG_0001.JPG")
    assert res.status_code == 201, res.json
    data = res.json["data"]
    assert (data["width"], data["height"], data["content_type"]) == (20, 40, "image/jpeg")
    photo, kept = stored(app, data["id"])
    assert photo.name != "IMG_0001.JPG" and photo.name.endswith(".jpg")
    with Image.open(io.BytesIO(kept)) as image:
        assert image.size == (20, 40)
        assert dict(image.getexif()) == {}
        assert "exif" not in image.info
    assert b"PhoneMaker" not in kept and b"Exif" not in kept

    served = client.get(data["url"], headers=auth(token))
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert photo.name in served.headers.get("Content-Disposition", "")
    assert served.data == kept
    assert instance_files(app) == []


def test_html_in_disguise_is_refused(client, wechat_sandbox, app, demo):
    token = sign_in(client, wechat_sandbox)
    before = counts(app)
    html = b"<html><body><script>alert(document.cookie)</script></body></html>"
    refused(upload(client, token, html, filename="cat.jpg", content_type="image/jpeg"), 415, "photo_type_unsupported")
    polyglot = b"\xff\xd8\xff" + html  # JPEG magic, then HTML: not a readable image
    refused(upload(client, token, polyglot, filename="cat.jpg"), 415, "photo_unreadable")
    gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
    refused(upload(client, token, gif, filename="a.gif", content_type="image/gif"), 415, "photo_type_unsupported")
    assert counts(app) == before
    assert files_in(app) == 0


def test_upload_needs_exactly_one_file(client, wechat_sandbox, demo):
    token = sign_in(client, wechat_sandbox)
    refused(client.post("/api/v1/photos", data={}, headers=auth(token), content_type="multipart/form-data"),
            400, "photo_missing")
    refused(client.post("/api/v1/photos", data={"file": (io.BytesIO(png()), "a.png"), "state": "x"},
                        headers=auth(token), content_type="multipart/form-data"), 400, "photo_missing")
    refused(upload(client, "nope", png()), 401, "session_invalid")


def test_pixel_bomb_is_refused(client, wechat_sandbox, app, demo):
    token = sign_in(client, wechat_sandbox)
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, "PNG")  # 400 megapixels in a few dozen kilobytes
    assert len(out.getvalue()) < 200_000
    before = counts(app)
    refused(upload(client, token, out.getvalue(), filename="bomb.png"), 413, "photo_too_many_pixels")
    out = io.BytesIO()
    Image.new("L", (5000, 5000)).save(out, "PNG")  # under Pillow's threshold, over ours
    refused(upload(client, token, out.getvalue(), filename="big.png"), 413, "photo_too_many_pixels")
    assert counts(app) == before


def test_pixel_bomb_is_refused_before_decoding(tmp_path):
    """In a fresh process: refusing a 36-megapixel image (108 MB decoded) must not grow the process by that."""
    script = textwrap.dedent("""
        import io, json, resource
        from PIL import Image
        from models import DomainError
        from intake.photos import clean_image
        buf = io.BytesIO(); Image.new("RGB", (6000, 6000)).save(buf, "PNG"); data = buf.getvalue()
        del buf
        small = io.BytesIO(); Image.new("RGB", (64, 64)).save(small, "PNG"); clean_image(small.getvalue())
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            clean_image(data)
            code = None
        except DomainError as exc:
            code = exc.code
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"code": code, "grew_kb": after - before}))
    """)
    from tests.conftest import ROOT

    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["code"] == "photo_too_many_pixels"
    assert result["grew_kb"] < 20_000


def test_another_resident_cannot_read_a_photo(client, wechat_sandbox, app, demo):
    owner = sign_in(client, wechat_sandbox, "o-owner")
    pid = upload(client, owner, png()).json["data"]["id"]
    intruder = sign_in(client, wechat_sandbox, "o-intruder")
    theirs = refused(client.get(f"/api/v1/photos/{pid}", headers=auth(intruder)), 404, "photo_not_found")
    missing = refused(client.get(f"/api/v1/photos/{pid + 100}", headers=auth(intruder)), 404, "photo_not_found")
    assert theirs.data == missing.data
    refused(client.get(f"/api/v1/photos/{pid}/thumbnail", headers=auth(intruder)), 404, "photo_not_found")
    refused(client.get(f"/api/v1/photos/{pid}"), 401, "session_missing")
    assert client.get(f"/api/v1/photos/{pid}", headers=auth(owner)).headers["Content-Type"] == "image/png"


def test_thumbnail_job_media_check_and_signed_push(client, wechat_sandbox, app, scene, job_runtime):
    from wechat.push import push_signature
    from workers.intake_jobs import process_photo

    token = sign_in(client, wechat_sandbox)
    pid = upload(client, token, jpeg(size=(1200, 800))).json["data"]["id"]
    refused(client.get(f"/api/v1/photos/{pid}/thumbnail", headers=auth(token)), 404, "thumbnail_not_ready")
    assert process_photo(pid) == "submitted"
    assert process_photo(pid) == "submitted"  # twice is harmless
    thumb = client.get(f"/api/v1/photos/{pid}/thumbnail", headers=auth(token))
    assert thumb.status_code == 200 and thumb.headers["X-Content-Type-Options"] == "nosniff"
    assert max(Image.open(io.BytesIO(thumb.data)).size) == 320
    with app.extensions["xinma.sessionmaker"]() as session:
        photo = session.get(Photo, pid)
        assert session.get(PhotoFile, photo.thumbnail_name).data == thumb.data
    assert files_in(app) == 2 and instance_files(app) == []

    checks = wechat_sandbox.control("GET", "/_sandbox/media_checks")["media_checks"]
    assert len(checks) == 1 and checks[0]["openid"] == "o-zhang"
    # WeChat can fetch the image from the signed URL; a forged signature gets nothing
    url = checks[0]["media_url"].removeprefix("http://xinma.test")
    assert client.get(url).headers["Content-Type"] == "image/jpeg"
    assert client.get(url[:-4] + "0000").status_code == 404

    body = {"ToUserName": "gh_x", "FromUserName": "o-zhang", "Event": "wxa_media_check", "appid": "wx",
            "trace_id": checks[0]["trace_id"], "version": 2, "result": {"suggest": "risky", "label": 20002}}
    push_token = app.config["XINMA"].push_token
    forged = client.post("/wechat/push?signature=abc&timestamp=1&nonce=2", json=body)
    assert forged.status_code == 401
    with app.extensions["xinma.sessionmaker"]() as session:
        assert session.get(Photo, pid).media_check is None
    now = str(int(time.time()))
    sig = push_signature(push_token, now, "n0nce")
    res = client.post(f"/wechat/push?signature={sig}&timestamp={now}&nonce=n0nce", json=body)
    assert res.status_code == 200 and res.data == b"success"
    with app.extensions["xinma.sessionmaker"]() as session:
        assert session.scalar(select(Photo.media_check).where(Photo.id == pid)) == "risky"
    echo = client.get(f"/wechat/push?signature={sig}&timestamp={now}&nonce=n0nce&echostr=hello")
    assert echo.data == b"hello"


def test_webp_and_unusual_png_modes_are_kept_in_their_format(client, wechat_sandbox, demo):
    token = sign_in(client, wechat_sandbox)
    webp = io.BytesIO()
    Image.new("RGB", (30, 10), (0, 120, 0)).save(webp, "WEBP")
    res = upload(client, token, webp.getvalue(), filename="a.webp", content_type="image/webp")
    assert res.status_code == 201 and res.json["data"]["content_type"] == "image/webp"
    res = upload(client, token, png(mode="I;16"), filename="deep.png", content_type="image/png")
    assert res.status_code == 201 and res.json["data"]["content_type"] == "image/png"
    cmyk = io.BytesIO()
    Image.new("CMYK", (10, 10)).save(cmyk, "JPEG")
    assert upload(client, token, cmyk.getvalue()).json["data"]["content_type"] == "image/jpeg"
