"""The signed URL WeChat's media check fetches a photo from: good for that photo for an hour, nothing else."""

from __future__ import annotations

import time

from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from intake.push import MEDIA_URL_SALT, signed_media_url
from models.intake import Photo
from tests.intake.support import jpeg, sign_in, upload


def _issued_ago(secret: str, name: str, seconds: int) -> str:
    """The token a URL made `seconds` ago carried (signed with the deployment's key, as the app signs them)."""

    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - seconds

    return URLSafeTimedSerializer(secret, salt=MEDIA_URL_SALT, signer=Then).dumps(name)


def test_the_signed_url_gives_the_photo_for_an_hour_and_nothing_else(client, app, wechat_sandbox, demo):
    token = sign_in(client, wechat_sandbox, "o-media")
    first = upload(client, token, jpeg()).json["data"]["id"]
    second = upload(client, token, jpeg(color=(0, 0, 200))).json["data"]["id"]
    with app.extensions["xinma.sessionmaker"]() as session:
        names = dict(session.execute(select(Photo.id, Photo.name)).all())
    settings = app.config["XINMA"]
    url = signed_media_url(settings, names[first])
    assert url.startswith(f"http://xinma.test/wechat/media/{names[first]}?t=")
    path = url.removeprefix("http://xinma.test")

    fetched = client.get(path)
    assert fetched.status_code == 200 and fetched.headers["Content-Type"] == "image/jpeg" and fetched.data

    signed = path.split("?t=")[1]
    assert client.get(f"/wechat/media/{names[second]}?t={signed}").status_code == 404  # another photo
    assert client.get(path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")).status_code == 404  # altered
    assert client.get(f"/wechat/media/{names[first]}").status_code == 404  # unsigned
    old_key = URLSafeTimedSerializer("another-deployment-key", salt=MEDIA_URL_SALT).dumps(names[first])
    assert client.get(f"/wechat/media/{names[first]}?t={old_key}").status_code == 404
    other_use = URLSafeTimedSerializer(settings.secret_key, salt="cookie-session").dumps(names[first])
    assert client.get(f"/wechat/media/{names[first]}?t={other_use}").status_code == 404

    recent = _issued_ago(settings.secret_key, names[first], 59 * 60)
    assert client.get(f"/wechat/media/{names[first]}?t={recent}").status_code == 200
    expired = _issued_ago(settings.secret_key, names[first], 61 * 60)
    assert client.get(f"/wechat/media/{names[first]}?t={expired}").status_code == 404
