"""The admin's legal page: each village or community names its legal adviser from the advisers in the admin's scope;
each district marks which deliberation categories it treats as major."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import StaffRole
from models.legal import LegalAdviser, MajorCategory
from tests import factories

from .support import adviser, form_post, refused, sign_in, snapshot, unit


@pytest.fixture
def session(app, demo):
    with app.extensions["xinma.sessionmaker"]() as s:
        yield s


def name(client, unit_id, staff_id):
    return form_post(client, "/admin/legal", "/admin/legal/advisers", {"unit_id": unit_id, "staff_id": staff_id})


def test_the_admin_names_a_villages_adviser_and_changes_it(client, session):
    first = adviser(session)
    second = adviser(session, username="lvshi2", display_name="周律师")
    village = unit(session, "梁堂村")
    sign_in(client, "admin")
    page = client.get("/admin/legal").get_data(as_text=True)
    for place in ("梁堂村", "汉王村", "彭城社区"):
        assert f'data-unit="{unit(session, place).id}"' in page
    assert "梁堂村第一网格" not in page and page.count("未指定法律顾问") == 3
    assert "李律师（lvshi1）" in page and "周律师（lvshi2）" in page
    res = name(client, village.id, first.id)
    assert res.status_code == 302 and res.headers["Location"].endswith(f"#unit-{village.id}")
    page = client.get(res.headers["Location"]).get_data(as_text=True)
    assert "已保存法律顾问。" in page and "法律顾问：李律师" in page and page.count("未指定法律顾问") == 2
    assert name(client, village.id, second.id).status_code == 302
    session.expire_all()
    row = session.get(LegalAdviser, village.id)
    assert (row.staff_id, row.named_by_id) == (second.id, session.scalar(
        select(type(second).id).where(type(second).username == "admin")))
    assert name(client, village.id, "").status_code == 302  # no adviser any more
    session.expire_all()
    assert session.get(LegalAdviser, village.id) is None


def test_naming_someone_who_is_no_adviser_or_a_unit_out_of_reach_is_refused(client, session):
    lawyer = adviser(session)
    secretary = session.scalar(select(type(lawyer)).where(type(lawyer).username == "shuji1"))
    elsewhere = factories.units(session)  # another district, outside the demo admin's scope
    outsider = factories.staff(session, StaffRole.legal_adviser, elsewhere["community"])
    session.commit()
    village = unit(session, "梁堂村")
    sign_in(client, "admin")
    before = snapshot(session)
    refused(name(client, village.id, secretary.id), 400, "只能从本辖区的法律顾问中指定。")
    refused(name(client, village.id, outsider.id), 400, "只能从本辖区的法律顾问中指定。")
    refused(name(client, village.id, "abc"), 400, "只能从本辖区的法律顾问中指定。")
    refused(name(client, unit(session, "梁堂村第一网格").id, lawyer.id), 404, "未找到这个单位。")
    refused(name(client, elsewhere["community"].id, lawyer.id), 404, "未找到这个单位。")
    assert snapshot(session) == before
    client.delete_cookie("session")
    sign_in(client, "shuji1")
    assert client.get("/admin/legal").status_code == 404


def test_the_district_marks_its_major_categories(client, session):
    district = unit(session, "铜山区")
    sign_in(client, "admin")
    page = client.get("/admin/legal").get_data(as_text=True)
    assert "保存铜山区的重大事项" in page and "checked" not in page
    res = form_post(client, "/admin/legal", "/admin/legal/major",
                    {"district_id": district.id, "category": ["major_affairs", "governance"]})
    assert res.status_code == 302
    page = client.get(res.headers["Location"]).get_data(as_text=True)
    assert "已保存重大事项类别。" in page
    assert 'value="major_affairs" checked' in page and 'value="governance" checked' in page
    assert 'value="livelihood" checked' not in page
    before = snapshot(session)
    refused(form_post(client, "/admin/legal", "/admin/legal/major",
                      {"district_id": district.id, "category": ["major_affairs", "weddings"]}), 400, "未知的议题类别。")
    refused(form_post(client, "/admin/legal", "/admin/legal/major",
                      {"district_id": unit(session, "张集镇").id, "category": "governance"}), 404,
            "未找到这个区，或您无权设置它的重大事项。")
    assert snapshot(session) == before
    assert form_post(client, "/admin/legal", "/admin/legal/major", {"district_id": district.id}).status_code == 302
    session.expire_all()
    assert session.scalars(select(MajorCategory)).all() == []
