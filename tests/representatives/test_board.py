"""The public list of a unit's representatives on its board: announced ones (公示中) and appointed ones with their
personal code; no one else, and nothing but what the appointment made public."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from models import QrCode, utcnow
from models.lifecycle import Actor
from models.representatives import recommend, transition_representative
from tests.representatives.support import PUBLIC_URL, appointed, decode_qr, personal_token, staff_named, unit_named

pytest.importorskip("zxingcpp")


def _candidates(app) -> None:
    """王五 announced (公示中), 赵六 only recommended, 钱七 declined, all in 梁堂村第二网格."""
    with app.extensions["xinma.sessionmaker"]() as session:
        admin, unit = staff_named(session, "admin"), unit_named(session, "梁堂村第二网格")
        actor = Actor.staff(admin)
        for name, steps in (("王五", ("review", "decide", "announce")), ("赵六", ()), ("钱七", ("decline",))):
            rep = recommend(session, admin, unit, kind="liaison", name=name, duties=["appointment"],
                            recommended_by="居民小组")
            for step in steps:
                transition_representative(session, rep, step, actor=actor)
        session.commit()


def _village_scene(app) -> str:
    with app.extensions["xinma.sessionmaker"]() as session:
        village = unit_named(session, "梁堂村")
        return session.scalar(select(QrCode.token).where(QrCode.unit_id == village.id, QrCode.revoked_at.is_(None)))


def test_the_board_lists_announced_and_appointed_representatives_with_their_codes(app, client, demo):
    rep_id = appointed(app, name="张三", duties=("waiting", "visiting"))
    _candidates(app)
    appointed(app, name="孙八", unit_name="汉王村第一网格")  # another village's
    scene = _village_scene(app)
    page = client.get(f"/board/{scene}/representatives")
    assert page.status_code == 200
    text = page.text
    assert "张三" in text and "议政代表" in text and "候访、走访" in text and "梁堂村第一网格" in text
    assert "王五" in text and "公示中，至" in text and "民意联络员" in text
    for absent in ("赵六", "钱七", "孙八", "第一党支部", "居民小组"):
        assert absent not in text
    [qr] = [p for p in text.split('src="')[1:] if "qr.png" in p]
    image = client.get(qr.split('"')[0])
    assert image.status_code == 200 and decode_qr(image.data) == [f"{PUBLIC_URL}/q/{personal_token(app, rep_id)}"]
    # A personal code's own scan opens the same list.
    assert "张三" in client.get(f"/board/{personal_token(app, rep_id)}/representatives").text


def test_no_code_is_served_for_someone_not_appointed(app, client, demo):
    _candidates(app)
    scene = _village_scene(app)
    with app.extensions["xinma.sessionmaker"]() as session:
        from models.representatives import Representative

        announced = session.scalar(select(Representative.id).where(Representative.name == "王五"))
    assert client.get(f"/board/{scene}/representatives/{announced}/qr.png").status_code == 404
    assert "本单位还没有" not in client.get(f"/board/{scene}/representatives").text


def test_an_ended_term_leaves_the_list(app, client, demo):
    rep_id = appointed(app, name="张三")
    with app.extensions["xinma.sessionmaker"]() as session:
        from models.representatives import Representative

        rep = session.get(Representative, rep_id)
        transition_representative(session, rep, "end_term", actor=Actor.staff(staff_named(session, "admin")),
                                  now=utcnow() + dt.timedelta(seconds=1))
        session.commit()
    page = client.get(f"/board/{_village_scene(app)}/representatives").text
    assert "张三" not in page and "本单位还没有公示或聘任的议政代表" in page


def test_the_board_links_to_the_list(app, client, demo):
    scene = _village_scene(app)
    page = client.get(f"/board/{scene}").text
    assert f'href="/board/{scene}/representatives"' in page
