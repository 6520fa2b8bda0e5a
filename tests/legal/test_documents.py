"""The reading pack (精读本): documents attached to a topic or a meeting by the secretary or the legal adviser, kept
in the database, checked by content (never by name), downloaded by staff, on the board and through the API."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from models import Meeting, QrCode, Resident, TopicState, Unit, utcnow
from models.council import MeetingDetail
from models.entities import meeting_topics
from models.legal import ReadingDocument

from .support import adviser, alert, csrf, refused, sign_in, sign_in_adviser, snapshot, topic, unit

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
TEXT = "《中华人民共和国村民委员会组织法》第二十四条：涉及村民利益的下列事项，经村民会议讨论决定方可办理。\n".encode()


def png(side: int = 40) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (side, side), (180, 30, 40)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def session(app, demo):
    with app.extensions["xinma.sessionmaker"]() as s:
        yield s


def upload(client, page_url: str, action: str, data: bytes | None, name: str = "材料.pdf", title: str = ""):
    """A multipart POST built in memory (Werkzeug's test client spools a large body to a file it never closes)."""
    page = client.get(page_url).get_data(as_text=True)
    form = MultiDict({"csrf_token": csrf(page), "title": title})
    if data is not None:
        form.add("file", FileStorage(io.BytesIO(data), filename=name))
    boundary, body = encode_multipart(form)
    return client.post(action, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def topic_upload(client, topic_id: int, data: bytes | None, name: str = "材料.pdf", title: str = ""):
    return upload(client, f"/council/topics/{topic_id}", f"/council/topics/{topic_id}/documents", data, name, title)


def meeting(session, village: str = "梁堂村", topics=()) -> int:
    place = unit(session, village)
    row = Meeting(unit_id=place.id, starts_at=utcnow() + dt.timedelta(days=2), place="村部二楼", form="forum",
                  created_at=utcnow())
    session.add(row)
    session.flush()
    session.add(MeetingDetail(meeting_id=row.id, title=f"{village}19点议事厅", is_open=True))
    for t in topics:
        session.execute(meeting_topics.insert().values(meeting_id=row.id, topic_id=t.id))
    session.commit()
    return row.id


def documents(session) -> list[ReadingDocument]:
    session.expire_all()
    return list(session.scalars(select(ReadingDocument).order_by(ReadingDocument.id)))


def test_the_secretary_attaches_text_pdf_and_an_image_and_downloads_them(client, session):
    item = topic(session, state=TopicState.approved)
    sign_in(client, "shuji1")
    res = topic_upload(client, item.id, TEXT, "组织法.txt", "村民委员会组织法（节选）")
    assert res.status_code == 302 and res.headers["Location"].endswith(f"/council/topics/{item.id}#documents")
    assert topic_upload(client, item.id, PDF, "土地承包法.pdf").status_code == 302
    photo = Image.new("RGB", (60, 40), (10, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # a camera tag the re-encoding drops
    raw = io.BytesIO()
    photo.save(raw, "JPEG", exif=exif)
    assert topic_upload(client, item.id, raw.getvalue(), "公告.jpg", "村务公开栏照片").status_code == 302
    rows = documents(session)
    assert [(d.title, d.content_type, d.topic_id) for d in rows] == [
        ("村民委员会组织法（节选）", "text/plain", item.id), ("土地承包法", "application/pdf", item.id),
        ("村务公开栏照片", "image/jpeg", item.id)]
    page = client.get(f"/council/topics/{item.id}").get_data(as_text=True)
    assert "精读材料（3 份）" in page and "村民委员会组织法（节选）" in page and "王书记" in page
    text = client.get(f"/council/documents/{rows[0].id}")
    assert text.status_code == 200 and text.data == TEXT
    assert text.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert text.headers["X-Content-Type-Options"] == "nosniff"
    pdf = client.get(f"/council/documents/{rows[1].id}")
    assert pdf.data == PDF and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E5%9C%9F%E5%9C%B0" in pdf.headers["Content-Disposition"]
    image = client.get(f"/council/documents/{rows[2].id}")
    kept = Image.open(io.BytesIO(image.data))
    assert kept.format == "JPEG" and kept.size == (60, 40) and 0x010F not in kept.getexif()


@pytest.mark.parametrize(("data", "name", "status", "message"), [
    (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200, "政策汇编.pdf", 415,
     "只能上传 PDF、纯文本（UTF-8）或 JPG、PNG 图片；文件类型按内容识别，改文件名无效。"),
    (b"PK\x03\x04" + b"\x00" * 100, "政策汇编.txt", 415,
     "只能上传 PDF、纯文本（UTF-8）或 JPG、PNG 图片；文件类型按内容识别，改文件名无效。"),
    ("村民会议".encode("gbk"), "说明.txt", 415,
     "只能上传 PDF、纯文本（UTF-8）或 JPG、PNG 图片；文件类型按内容识别，改文件名无效。"),
    (b"%PDF-1.4\n1 0 obj", "截断.pdf", 415, "文件无法读取，可能已损坏。"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "图.png", 415, "文件无法读取，可能已损坏。"),
    (b"", "空.txt", 400, "上传的文件是空的。"),
    (None, "", 400, "请选择要上传的文件。"),
])
def test_a_bad_file_is_refused_by_its_content_and_nothing_is_kept(client, session, data, name, status, message):
    item = topic(session, state=TopicState.approved)
    sign_in(client, "shuji1")
    before = snapshot(session)
    refused(topic_upload(client, item.id, data, name), status, message)
    assert snapshot(session) == before


def test_a_file_over_the_limit_and_the_twenty_first_are_refused(client, session):
    item = topic(session, state=TopicState.approved)
    sign_in(client, "shuji1")
    before = snapshot(session)
    big = b"%PDF-1.4\n" + b"0" * (2 * 1024 * 1024) + b"\n%%EOF\n"
    refused(topic_upload(client, item.id, big), 413, "文件太大，请压缩到 1MB 以内，或分成几份上传。")
    refused(topic_upload(client, item.id, PDF, title="很" * 101), 400, "文件名称不能超过 100 字。")
    assert snapshot(session) == before
    for i in range(20):
        assert topic_upload(client, item.id, PDF, f"第{i}份.pdf").status_code == 302
    refused(topic_upload(client, item.id, PDF), 400, "每个议题或议事会最多上传 20 份精读材料。")
    assert len(documents(session)) == 20


def test_staff_outside_the_unit_neither_attach_nor_download(client, session):
    item = topic(session, state=TopicState.approved)
    sign_in(client, "shuji1")
    assert topic_upload(client, item.id, PDF).status_code == 302
    doc = documents(session)[0]
    client.delete_cookie("session")
    sign_in(client, "shuji2")  # 汉王村's secretary
    assert client.get(f"/council/documents/{doc.id}").status_code == 404
    page = client.get("/council/").get_data(as_text=True)
    res = client.post(f"/council/topics/{item.id}/documents", content_type="multipart/form-data",
                      data={"csrf_token": csrf(page), "file": (io.BytesIO(PDF), "a.pdf")})
    assert res.status_code == 404 and alert(res) == "未找到这个议题。"
    client.delete_cookie("session")
    sign_in(client, "wangge1")  # a grid worker of the village: not theirs to read
    assert client.get(f"/council/documents/{doc.id}").status_code == 404
    assert len(documents(session)) == 1


def test_the_adviser_attaches_to_a_meeting_of_their_village(client, session):
    adviser(session, "梁堂村")
    item = topic(session, state=TopicState.scheduled)
    meeting_id = meeting(session, topics=[item])
    other_id = meeting(session, village="汉王村")
    sign_in_adviser(client)
    home = client.get("/council/legal").get_data(as_text=True)
    assert f'data-meeting="{meeting_id}"' in home and f'data-meeting="{other_id}"' not in home
    url = f"/council/legal/meetings/{meeting_id}"
    res = upload(client, url, f"/council/meetings/{meeting_id}/documents", PDF, "民法典物权编.pdf")
    assert res.status_code == 302 and res.headers["Location"].endswith(f"{url}#documents")
    res = upload(client, f"/council/legal/topics/{item.id}", f"/council/topics/{item.id}/documents", png(),
                 "宗地图.png")
    assert res.status_code == 302
    assert client.get(f"/council/legal/meetings/{other_id}").status_code == 404
    assert upload(client, url, f"/council/meetings/{other_id}/documents", PDF).status_code == 404
    rows = documents(session)
    assert [(d.meeting_id, d.topic_id, d.uploaded_name) for d in rows] == [(meeting_id, None, "李律师"),
                                                                            (None, item.id, "李律师")]
    # the secretary's meeting page shows both: the meeting's own and its agenda topic's
    client.delete_cookie("session")
    sign_in(client, "shuji1")
    page = client.get(f"/council/meetings/{meeting_id}").get_data(as_text=True)
    assert "民法典物权编" in page and "宗地图" in page
    assert client.get(f"/council/documents/{rows[0].id}").data == PDF
    # the village's adviser is one tap away from the participants (援法议事)
    form = page[page.index('id="invite-adviser"'):]
    assert "邀请法律顾问李律师参会" in form and 'name="role" value="legal_adviser"' in form
    assert 'name="name" value="李律师"' in form
    res = client.post(f"/council/meetings/{meeting_id}/participants",
                      data={"csrf_token": csrf(page), "role": "legal_adviser", "name": "李律师"})
    assert res.status_code == 302
    page = client.get(f"/council/meetings/{meeting_id}").get_data(as_text=True)
    assert "法律顾问：李律师" in page and "邀请法律顾问李律师参会" not in page


def test_documents_on_the_board_and_in_the_residents_api(client, session, wechat_sandbox):
    token = client.post("/api/v1/sessions", json={"code": wechat_sandbox.login_code("o-reader")}).json["data"]["token"]
    reader = session.scalar(select(Resident).where(Resident.openid == "o-reader"))
    item = topic(session, state=TopicState.scheduled, resident=reader)
    hidden = topic(session, state=TopicState.proposed, title="尚未审定的议题")
    meeting_id = meeting(session, topics=[item])
    sign_in(client, "shuji1")
    assert topic_upload(client, item.id, TEXT, "组织法.txt").status_code == 302
    assert topic_upload(client, hidden.id, PDF, "未公开.pdf").status_code == 302
    assert upload(client, f"/council/meetings/{meeting_id}", f"/council/meetings/{meeting_id}/documents", PDF,
                  "议事规则.pdf").status_code == 302
    text_doc, hidden_doc, meeting_doc = documents(session)
    client.delete_cookie("session")
    scene = session.scalar(select(QrCode.token).join(Unit).where(Unit.name == "梁堂村", QrCode.revoked_at.is_(None)))
    board = client.get(f"/board/{scene}").get_data(as_text=True)
    assert "组织法" in board and "未公开" not in board
    assert client.get(f"/board/{scene}/documents/{text_doc.id}").data == TEXT
    assert client.get(f"/board/{scene}/documents/{hidden_doc.id}").status_code == 404
    assert client.get(f"/board/{scene}/documents/{meeting_doc.id}").data == PDF  # an open meeting's
    notice = client.get(f"/board/{scene}/meetings/{meeting_id}").get_data(as_text=True)
    assert "会前精读材料（2 份）" in notice and "议事规则" in notice and "组织法" in notice
    other_scene = session.scalar(select(QrCode.token).join(Unit).where(Unit.name == "汉王村"))
    assert client.get(f"/board/{other_scene}/documents/{text_doc.id}").status_code == 404
    auth = {"Authorization": f"Bearer {token}"}
    listed = client.get(f"/api/v1/topics/{item.id}", headers=auth).json["data"]["documents"]
    assert [(d["title"], d["content_type"], d["size"]) for d in listed] == [("组织法", "text/plain", len(TEXT))]
    assert client.get(listed[0]["url"], headers=auth).data == TEXT
    assert client.get(listed[0]["url"]).status_code == 401
    pack = client.get(f"/api/v1/meetings/{meeting_id}", headers=auth).json["data"]["documents"]
    assert [d["title"] for d in pack] == ["议事规则", "组织法"]
    assert client.get(pack[0]["url"], headers=auth).data == PDF
    assert client.get(f"/api/v1/topics/{item.id}/documents/{hidden_doc.id}", headers=auth).status_code == 404
    assert client.get(f"/api/v1/topics/{hidden.id}/documents/{hidden_doc.id}", headers=auth).status_code == 404


def test_a_document_is_taken_out_by_the_secretary_or_the_adviser_who_attached_it(client, session):
    adviser(session, "梁堂村")
    item = topic(session, state=TopicState.approved)
    sign_in(client, "shuji1")
    assert topic_upload(client, item.id, PDF, "错传的文件.pdf").status_code == 302
    client.delete_cookie("session")
    sign_in_adviser(client)
    assert upload(client, f"/council/legal/topics/{item.id}", f"/council/topics/{item.id}/documents", TEXT,
                  "组织法.txt").status_code == 302
    secretarys, advisers = (d.id for d in documents(session))
    page = client.get(f"/council/legal/topics/{item.id}").get_data(as_text=True)
    assert page.count("删除</button>") == 1  # only their own
    before = snapshot(session)
    res = client.post(f"/council/documents/{secretarys}/delete", data={"csrf_token": csrf(page)})
    refused(res, 404, "未找到这份材料。")
    assert snapshot(session) == before
    res = client.post(f"/council/documents/{advisers}/delete", data={"csrf_token": csrf(page)})
    assert res.status_code == 302 and res.headers["Location"].endswith(f"/council/legal/topics/{item.id}#documents")
    client.delete_cookie("session")
    sign_in(client, "shuji2")  # another village's secretary
    page = client.get("/council/").get_data(as_text=True)
    refused(client.post(f"/council/documents/{secretarys}/delete", data={"csrf_token": csrf(page)}), 404,
            "未找到这份材料。")
    client.delete_cookie("session")
    sign_in(client, "shuji1")
    page = client.get(f"/council/topics/{item.id}").get_data(as_text=True)
    assert client.post(f"/council/documents/{secretarys}/delete",
                       data={"csrf_token": csrf(page)}).status_code == 302
    assert documents(session) == []
    assert client.get(f"/council/documents/{secretarys}").status_code == 404


def test_a_title_is_kept_on_one_line_and_names_the_download(client, session):
    item = topic(session, state=TopicState.approved)
    sign_in(client, "shuji1")
    res = topic_upload(client, item.id, PDF, "a.pdf", title='村规民约\r\n"修订稿"\x07 第二版')
    assert res.status_code == 302
    [doc] = documents(session)
    assert doc.title == '村规民约 "修订稿" 第二版'
    got = client.get(f"/council/documents/{doc.id}")
    assert got.status_code == 200 and "\n" not in got.headers["Content-Disposition"]
    assert "%E7%AC%AC%E4%BA%8C%E7%89%88.pdf" in got.headers["Content-Disposition"]
