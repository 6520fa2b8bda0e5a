"""Unit codes end to end: import, tokens, images and posters read back by an independent QR reader, the scan
landing, the H5 intake page and the admin unit pages."""

from __future__ import annotations

import dataclasses
import io
import re
import secrets
import zipfile
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image, ImageChops
from sqlalchemy import func, select

from models import Complaint, DomainError, QrCode, Resident, Unit
from models.intake import ComplaintContact
from models.qr import TrackingLink, UnitScan
from qr import services
from qr.export import write_pdf, write_zip
from qr.imports import ImportInvalid, import_units
from qr.posters import SIZES, layout, mm_to_px, poster_image, poster_page, poster_png, poster_stream, qr_png
from tests.conftest import ARTIFACTS

zxingcpp = pytest.importorskip("zxingcpp")
SAMPLE = Path(services.__file__).parent / "data" / "tongshan_district.csv"
PUBLIC = "http://xinma.test"
WECHAT_UA = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.50 NetType/WIFI"


def decode(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def unit_behind(db, url: str) -> Unit:
    assert url.startswith(f"{PUBLIC}/q/"), url
    return services.resolve_scene(db, url.rsplit("/", 1)[1]).unit


@pytest.fixture
def district(db):
    result = import_units(db, SAMPLE.read_bytes())
    db.commit()
    assert result.created == db.scalar(select(func.count(Unit.id))) >= 300
    return db


def csv_bytes(*rows: str) -> bytes:
    return ("code,name,level,parent_code\n" + "\n".join(rows) + "\n").encode()


# --- import --------------------------------------------------------------------------------------------------

def test_sample_district_imports_with_a_live_code_per_unit(district):
    db = district
    units = db.scalars(select(Unit)).all()
    assert {u.level.value for u in units} == {"district", "street", "community", "grid"}
    codes = [services.current_code(db, unit) for unit in units]
    for code in codes:  # 128 random bits each (nothing of the unit in it: its id is no part of the token)
        assert code is not None and re.fullmatch(r"[A-Za-z0-9_-]{22}", code.token)
    assert len({code.token for code in codes}) == len(units)
    grid = db.scalar(select(Unit).where(Unit.code == "320312100200-01"))
    assert grid.full_name() == "铜山区·张集镇·田庄村·田庄村第一网格"
    # A second import of the same file changes nothing and keeps the codes.
    tokens = set(db.scalars(select(QrCode.token)))
    assert import_units(db, SAMPLE.read_bytes()).unchanged == len(units)
    assert set(db.scalars(select(QrCode.token))) == tokens


def test_import_updates_names_and_moves_a_unit(district):
    db = district
    result = import_units(db, csv_bytes("320312100200,田庄社区,社区,320312101"))
    db.commit()
    unit = db.scalar(select(Unit).where(Unit.code == "320312100200"))
    assert result.updated == 1 and unit.full_name() == "铜山区·三堡街道·田庄社区"
    child = db.scalar(select(Unit).where(Unit.code == "320312100200-01"))
    assert child.path.startswith(unit.path) and unit.path.startswith(unit.parent.path)


@pytest.mark.parametrize(("rows", "messages"), [
    (["9,张集镇,镇,404"], ["第 2 行：上级代码 404 不存在。"]),
    (["1,甲区,区,", "2,乙镇,镇,1", "2,丙镇,镇,1"], ["第 4 行：单位代码 2 与第 3 行重复。"]),
    (["1,甲区,区,", "2,,镇,1"], ["第 3 行：单位名称为空。"]),
    (["1,甲区,区,", "2,乙镇,镇,3", "3,丙镇,镇,2"],
     ["第 3 行：单位 2 的上级关系形成了循环。", "第 4 行：单位 3 的上级关系形成了循环。"]),
    (["1,甲区,区,", "2,乙村,村,1"], ["第 3 行：上级 1 的层级不对（区→街道/镇→社区/村→网格）。"]),
    (["1,甲区,省,"], ["第 2 行：层级“省”无法识别（区、街道、镇、社区、村、网格）。"]),
    (["1,甲区,区,", "2,乙镇,镇"], ["第 3 行：应有 4 列，实际 3 列。"]),
    (["1,𠀀区,区,"], ["第 2 行：单位名称含有海报字体无法显示的字：𠀀。"]),
])
def test_bad_rows_are_reported_by_line_and_nothing_is_written(db, rows, messages):
    with pytest.raises(ImportInvalid) as caught:
        import_units(db, csv_bytes(*rows))
    assert [e.message() for e in caught.value.errors] == messages
    db.rollback()
    assert db.scalar(select(func.count(Unit.id))) == 0


def test_malformed_files_are_refused(db):
    for data, message in [(b"\xff\xfe\x00", "第 1 行：文件不是 UTF-8 编码，请另存为 UTF-8 CSV。"),
                          (b"", "第 1 行：文件是空的。"),
                          ("代码,名称\n1,甲区\n".encode(), "第 1 行：表头缺少列：code, name, level, parent_code。")]:
        with pytest.raises(ImportInvalid) as caught:
            import_units(db, data)
        assert [e.message() for e in caught.value.errors] == [message]
    assert db.scalar(select(func.count(Unit.id))) == 0


def xlsx_bytes(*rows) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["code", "name", "level", "parent_code"])
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_xlsx_file_imports_like_the_csv(db):
    import csv

    records = list(csv.reader(io.StringIO(SAMPLE.read_text(encoding="utf-8-sig"))))[1:]
    # Spreadsheets store all-digit codes as numbers; they must come back as the same codes.
    rows = [(int(code) if code.isdigit() else code, name, level, int(parent) if parent.isdigit() else parent or None)
            for code, name, level, parent in records]
    data = xlsx_bytes(*rows[:40], (), *rows[40:])  # an empty row in the middle is skipped
    result = import_units(db, data)
    db.commit()
    assert result.created == len(records) == db.scalar(select(func.count(Unit.id)))
    grid = db.scalar(select(Unit).where(Unit.code == "320312100200-01"))
    assert grid.full_name() == "铜山区·张集镇·田庄村·田庄村第一网格"
    assert import_units(db, SAMPLE.read_bytes()).unchanged == len(records)


def test_a_bad_xlsx_is_reported_by_sheet_row_and_nothing_is_written(db):
    data = xlsx_bytes((1, "甲区", "区", None), (), (2, "乙镇", "镇", 404), (3, None, "镇", 1), (3, "丙镇", "镇", 1),
                      (4, "丁村", "村", 1, "多余"))
    with pytest.raises(ImportInvalid) as caught:
        import_units(db, data)
    assert [e.message() for e in caught.value.errors] == [
        "第 4 行：上级代码 404 不存在。", "第 5 行：单位名称为空。", "第 6 行：单位代码 3 与第 5 行重复。",
        "第 7 行：应有 4 列，实际 5 列。"]
    db.rollback()
    assert db.scalar(select(func.count(Unit.id))) == 0
    for broken in (b"PK\x03\x04" + b"\x00" * 60, xlsx_bytes()[:300]):
        with pytest.raises(ImportInvalid) as caught:
            import_units(db, broken)
        assert [e.message() for e in caught.value.errors] == [
            "第 1 行：无法读取这个 Excel 文件，请另存为 .xlsx 或 UTF-8 CSV。"]
    with pytest.raises(ImportInvalid) as caught:
        import_units(db, xlsx_bytes())
    assert [e.message() for e in caught.value.errors] == ["第 1 行：文件是空的。"]
    assert db.scalar(select(func.count(Unit.id))) == 0


def test_cli_import_reports_bad_rows_and_imports_the_sample(settings_env, db_clean, monkeypatch, tmp_path):
    import app

    for key, value in settings_env.items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    bad = runner.invoke(app.main, ["units", "import", str(SAMPLE.parent / "missing.csv")])
    assert bad.exit_code != 0
    (tmp_path / "bad.csv").write_bytes(csv_bytes("1,甲区,区,", "2,乙镇,镇,9"))
    bad = runner.invoke(app.main, ["units", "import", str(tmp_path / "bad.csv")])
    assert bad.exit_code == 1 and "第 3 行：上级代码 9 不存在。" in bad.output and "未导入任何单位" in bad.output
    good = runner.invoke(app.main, ["units", "import", str(SAMPLE)])
    assert good.exit_code == 0, good.output
    assert "新增 383 个" in good.output


# --- images, posters, export ---------------------------------------------------------------------------------

def test_every_png_decodes_to_its_own_unit(district):
    db = district
    units = db.scalars(select(Unit).where(Unit.level.in_(["district", "community"])).limit(12)).all()
    for unit in units:
        url = services.scan_url(PUBLIC, services.current_code(db, unit))
        assert [unit_behind(db, u).id for u in decode(Image.open(io.BytesIO(qr_png(url))))] == [unit.id]
        for size in ("A4", "A5"):
            poster = Image.open(io.BytesIO(poster_png(unit.full_name(), unit.code, url, SIZES[size])))
            assert poster.size == SIZES[size].pixels
            assert [unit_behind(db, u).id for u in decode(poster)] == [unit.id]


def test_codes_with_the_fixed_mask_decode_for_many_random_tokens():
    # The mask is fixed rather than scored per code: every one of these must still read back.
    for _ in range(300):
        url = f"{PUBLIC}/q/{services.new_token()}"
        assert decode(Image.open(io.BytesIO(qr_png(url)))) == [url]
    for size in SIZES.values():
        for _ in range(15):
            url = f"https://xinma.example.cn/q/{secrets.token_urlsafe(16)}"
            assert decode(Image.open(io.BytesIO(poster_png("铜山区·柳泉镇·北庄村", "320312", url, size)))) == [url]


def test_poster_rows_are_one_valid_zlib_stream_of_whole_scanlines():
    # Bands compressed separately and joined: a strict reader checks the Adler-32 and the length.
    for size in SIZES.values():
        width, height = size.pixels
        rows = zlib.decompress(poster_stream("铜山区·张集镇·梁堂村·梁堂村第一网格", "320312100201-01",
                                             f"{PUBLIC}/q/{services.new_token()}", size))
        stride = 1 + (width * 2 + 7) // 8
        assert len(rows) == height * stride
        assert all(rows[i] == 0 for i in range(0, len(rows), stride))  # filter byte "none" on every row



def test_the_encoded_poster_is_the_page_pillow_composes():
    # The hand-made PNG, read back by Pillow, holds exactly the bands pasted onto one page.
    for size in SIZES.values():
        for name in ("铜山区·柳泉镇·北庄村", "铜山区·三堡街道·彭城社区·彭城社区第三网格·汉王路东段居民小组"):
            item = (name, "320312100201-01", f"{PUBLIC}/q/{services.new_token()}", size)
            assert ImageChops.difference(poster_image(*item), poster_page(*item)).getbbox() is None


def test_printed_qr_is_large_enough_for_two_metres(district):
    unit = district.scalar(select(Unit).where(Unit.code == "320312"))
    url = services.scan_url(PUBLIC, services.current_code(district, unit))
    for size, minimum_mm in (("A4", 150), ("A5", 100)):
        poster = Image.open(io.BytesIO(poster_png(unit.full_name(), unit.code, url, SIZES[size])))
        found = zxingcpp.read_barcodes(poster, formats=zxingcpp.BarcodeFormat.QRCode)[0]
        side_px = found.position.top_right.x - found.position.top_left.x
        assert side_px >= mm_to_px(minimum_mm) * 0.75, (size, side_px)  # the symbol without its quiet zone


def test_zip_and_pdf_exports_of_a_street_decode_to_its_units(district):
    pdfium = pytest.importorskip("pypdfium2")
    db = district
    street = db.scalar(select(Unit).where(Unit.code == "320312101"))
    units = services.subtree(db, street)
    items = [(u.full_name(), u.code, services.scan_url(PUBLIC, services.current_code(db, u))) for u in units]
    out = io.BytesIO()
    assert write_pdf(out, iter(items), SIZES["A5"]) == len(units) > 5
    pdf = pdfium.PdfDocument(out.getvalue())
    seen = []
    for page in pdf:
        image = page.render(scale=150 / 72).to_pil()
        seen += [unit_behind(db, u).id for u in decode(image)]
        page.close()
    pdf.close()
    assert seen == [u.id for u in units]
    # The same export through a pool of worker processes gives the same pages, in the same order.
    pooled = io.BytesIO()
    assert write_pdf(pooled, iter(items), SIZES["A5"], workers=2) == len(units)
    assert pooled.getvalue() == out.getvalue()
    zipped = io.BytesIO()
    write_zip(zipped, iter(items[:3]), SIZES["A4"])
    with zipfile.ZipFile(zipped) as archive:
        names = archive.namelist()
        assert len(names) == 3 and all(n.endswith("-A4.png") for n in names)
        assert decode(Image.open(archive.open(names[0]))) == [items[0][2]]


def test_cli_export_writes_the_pdf_with_a_progress_bar(district, settings_env, monkeypatch, tmp_path):
    import app

    for key, value in settings_env.items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "posters.pdf"
    result = CliRunner().invoke(app.main, ["qr", "export", "--unit", "320312100200", "--format", "pdf",
                                           "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "生成海报" in result.output and f"张海报已写入 {out}" in result.output
    assert out.read_bytes().startswith(b"%PDF") and not (tmp_path / "posters.pdf.part").exists()
    assert "本机地址" not in result.output
    monkeypatch.setenv("XINMA_PUBLIC_URL", "http://127.0.0.1:8000")
    out.unlink()
    local = CliRunner().invoke(app.main, ["qr", "export", "--unit", "320312100200", "--out", str(out)])
    assert local.exit_code == 1 and "poster_address_loopback" in local.output and "未导出海报" in local.output
    assert not out.exists()
    local = CliRunner().invoke(app.main, ["qr", "export", "--unit", "320312100200", "--out", str(out), "--force"])
    assert local.exit_code == 0 and "公网地址（XINMA_PUBLIC_URL）是本机地址 http://127.0.0.1:8000" in local.output
    missing = CliRunner().invoke(app.main, ["qr", "export", "--unit", "nope", "--out", str(tmp_path / "x.zip")])
    assert missing.exit_code == 1 and "未找到这个单位。" in missing.output
    assert not (tmp_path / "x.zip").exists() and not (tmp_path / "x.zip.part").exists()


def test_a_long_name_wraps_and_shrinks_but_is_never_cut(db):
    name = "铜山区·张集镇·梁堂村·" + "梁堂村东南片区第十二居民小组联合" * 3 + "网格"
    for size in SIZES.values():
        plan = layout(name, size)
        assert "".join(plan.title_lines) == name and len(plan.title_lines) >= 2
        assert plan.title_px < size.title_px
        png = poster_png(name, "X-1", f"{PUBLIC}/q/abc", size)
        poster = Image.open(io.BytesIO(png))
        assert decode(poster) == [f"{PUBLIC}/q/abc"]
        # Every line of the title lies inside the page's side margins: nothing runs off the paper.
        width = size.pixels[0]
        title = poster.convert("L").crop((0, 0, width, mm_to_px(12) + len(plan.title_lines) * plan.title_px * 2))
        left, _, right, _ = title.point(lambda v: 255 if v < 128 else 0).getbbox()
        assert left >= mm_to_px(12) - 2 and right <= width - mm_to_px(12) + 2, (size.name, left, right)
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"poster-{size.name}-long-name.png").write_bytes(png)
    with pytest.raises(DomainError) as caught:
        layout("很长的名字" * 60, SIZES["A5"])
    assert caught.value.code == "poster_name_too_long"
    # Such a name is refused at import, by line, before any poster is attempted.
    with pytest.raises(ImportInvalid) as refused:
        import_units(db, csv_bytes("1,甲区,区,", "2," + "很长的名字" * 39 + ",镇,1"))
    assert [e.message() for e in refused.value.errors] == ["第 3 行：单位全称太长，海报上放不下。"]
    db.rollback()
    assert db.scalar(select(func.count(Unit.id))) == 0


# --- tokens and the scan landing -----------------------------------------------------------------------------

def first_grid(db) -> Unit:
    return db.scalar(select(Unit).where(Unit.code == "320312100200-01"))


def test_rotating_a_token_retires_the_old_poster(district, client):
    db = district
    unit = first_grid(db)
    old = services.current_code(db, unit).token
    new = services.rotate_code(db, unit).token
    db.commit()
    assert new != old
    page = client.get(f"/q/{old}")
    assert page.status_code == 410 and "这个二维码已被更换，请扫描公示牌上的新码。" in page.get_data(as_text=True)
    api = client.get(f"/api/v1/scenes/{old}").get_json()
    assert api["error"] == {"code": "scene_revoked", "message": "这个二维码已被更换，请扫描公示牌上的新码。"}
    assert client.get(f"/q/{new}").status_code == 302
    with pytest.raises(DomainError):
        services.resolve_scene(db, old)


def test_unknown_and_retired_tokens_say_so(district, client):
    db = district
    page = client.get("/q/never-issued-token-000000")
    assert page.status_code == 404 and "未找到这个二维码对应的单位" in page.get_data(as_text=True)
    assert client.get("/q/" + "x" * 40).status_code == 404
    unit = first_grid(db)
    token = services.current_code(db, unit).token
    services.retire_unit(db, unit)
    db.commit()
    page = client.get(f"/q/{token}")
    assert page.status_code == 410 and "这个二维码所属的单位已撤销" in page.get_data(as_text=True)
    assert db.scalar(select(func.count(UnitScan.id))) == 0


def test_landing_sends_wechat_to_the_mini_program_and_others_to_h5(district, client, app):
    db = district
    token = services.current_code(db, first_grid(db)).token
    plain = client.get(f"/q/{token}")
    assert plain.status_code == 302 and plain.headers["Location"] == f"/h5/{token}"
    app.config["XINMA"] = dataclasses.replace(app.config["XINMA"], miniprogram_simulator_url="http://sandbox.test/phone")
    wechat = client.get(f"/q/{token}", headers={"User-Agent": WECHAT_UA})
    # As WeChat opens the mini-program for a plain-link scan: q, the whole link (encoded), and scancode_time.
    assert wechat.headers["Location"].startswith(f"http://sandbox.test/phone?q=http%3A%2F%2Fxinma.test%2Fq%2F{token}"
                                                 "&scancode_time=")
    forced = client.get(f"/q/{token}?h5", headers={"User-Agent": WECHAT_UA})
    assert forced.headers["Location"] == f"/h5/{token}"
    scans = db.scalars(select(UnitScan)).all()
    assert [(s.unit_id, s.count) for s in scans] == [(first_grid(db).id, 3)]


# --- H5 intake -----------------------------------------------------------------------------------------------

def csrf(client, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_h5_report_gives_a_private_tracking_link_with_the_timeline(district, client):
    db = district
    token = services.current_code(db, first_grid(db)).token
    form = client.get(f"/h5/{token}").get_data(as_text=True)
    assert "铜山区·张集镇·田庄村·田庄村第一网格" in form and "扫码反映身边事" in form
    sent = client.post(f"/h5/{token}", data={"csrf_token": csrf(client, f"/h5/{token}"), "category": "设施维修",
                                             "text": "村口路灯坏了半个月", "phone": "13812345678"})
    assert sent.status_code == 303
    link = sent.headers["Location"]
    tracking = link.split("/h5/track/")[1].split("?")[0]
    assert len(tracking) >= 43  # 256 random bits
    page = client.get(link).get_data(as_text=True)
    assert "提交成功" in page and "您的反映已提交" in page and "村口路灯坏了半个月" in page
    complaint = db.scalar(select(Complaint))
    assert complaint.resident.openid is None and complaint.resident.channel == "h5"
    assert db.get(ComplaintContact, complaint.id).phone == "13812345678"
    assert db.scalar(select(TrackingLink.token_hash)) != tracking
    other = client.get("/h5/track/" + tracking[:-2] + "xx")
    assert other.status_code == 404 and "未找到这条反映" in other.get_data(as_text=True)


def test_h5_bad_input_shows_the_message_and_writes_nothing(district, client):
    db = district
    token = services.current_code(db, first_grid(db)).token
    base = {"csrf_token": csrf(client, f"/h5/{token}"), "category": "设施维修", "text": "路灯坏了"}
    for change, message in [({"phone": "12345"}, "11 位手机号"), ({"category": "x"}, "请选择一个问题类别。"),
                            ({"text": "  "}, "请描述您遇到的问题。"), ({"csrf_token": "x"}, "页面已过期")]:
        res = client.post(f"/h5/{token}", data={**base, **change})
        assert res.status_code in (400, 422) and message in res.get_data(as_text=True), change
    assert db.scalar(select(func.count(Complaint.id))) == 0
    assert db.scalar(select(func.count(Resident.id))) == 0


def gps_jpeg(size=(60, 40)) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (34.0, 12.0, 5.0), 3: "E", 4: (117.0, 11.0, 0.0)}
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def photo_files(app) -> list[bytes]:
    """The bytes of every image the database keeps (photos and thumbnails alike)."""
    from models.intake import PhotoFile

    with app.extensions["xinma.sessionmaker"]() as session:
        return list(session.scalars(select(PhotoFile.data).order_by(PhotoFile.name)))


def post_form(client, path: str, fields: dict):
    """A multipart POST whose body is built in memory: Werkzeug's test client spools a large body to a temporary
    file it never closes, which pytest would report against a later test."""
    from werkzeug.datastructures import FileStorage, MultiDict
    from werkzeug.test import encode_multipart

    values = MultiDict()
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            values.add(key, FileStorage(item[0], filename=item[1]) if isinstance(item, tuple) else item)
    boundary, body = encode_multipart(values)
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_h5_report_with_photos_keeps_them_without_exif(district, client, app):
    from models.intake import Photo

    db = district
    token = services.current_code(db, first_grid(db)).token
    original = gps_jpeg()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)
    sent = post_form(client, f"/h5/{token}", {
        "csrf_token": csrf(client, f"/h5/{token}"), "category": "设施维修", "text": "路灯坏了，见照片",
        "photos": [(io.BytesIO(original), "IMG_0001.jpg"), (io.BytesIO(gps_jpeg((30, 30))), "IMG_0002.jpg")]})
    assert sent.status_code == 303, sent.get_data(as_text=True)
    complaint = db.scalar(select(Complaint))
    photos = db.scalars(select(Photo).where(Photo.complaint_id == complaint.id)).all()
    assert sorted((p.width, p.height) for p in photos) == [(30, 30), (60, 40)]
    assert all(p.resident_id == complaint.resident_id for p in photos)
    kept = photo_files(app)
    assert len(kept) == 2
    for data in kept:
        with Image.open(io.BytesIO(data)) as image:
            assert dict(image.getexif()) == {} and "exif" not in image.info
    assert '附照片 <span id="photo-count">2</span> 张' in client.get(sent.headers["Location"]).get_data(as_text=True)


def test_h5_bad_photos_are_named_and_nothing_is_written(district, client, app):
    db = district
    token = services.current_code(db, first_grid(db)).token
    base = {"csrf_token": csrf(client, f"/h5/{token}"), "category": "设施维修", "text": "路灯坏了"}
    for photos, message in [
        ([(io.BytesIO(gps_jpeg()), "a.jpg"), (io.BytesIO(b"<html>not a photo</html>"), "b.jpg")],
         "第 2 张照片：只能上传 JPG、PNG 或 WEBP 格式的照片。"),
        ([(io.BytesIO(gps_jpeg()), f"{i}.jpg") for i in range(7)], "最多上传 6 张照片。"),
        ([(io.BytesIO(b"\xff\xd8\xff" + b"x" * (2 * 1024 * 1024)), "big.jpg")],
         "第 1 张照片：照片太大，请压缩到 1MB 以内再上传。"),
    ]:
        res = post_form(client, f"/h5/{token}", {**base, "photos": photos})
        assert res.status_code == 422 and message in res.get_data(as_text=True), message
        assert "路灯坏了" in res.get_data(as_text=True)  # what was typed is kept
    huge = [(io.BytesIO(b"\xff\xd8\xff" + b"x" * (2 * 1024 * 1024)), f"{i}.jpg") for i in range(7)]
    res = post_form(client, f"/h5/{token}", {**base, "photos": huge})
    assert res.status_code == 422 and "照片加起来太大" in res.get_data(as_text=True)
    assert db.scalar(select(func.count(Complaint.id))) == 0
    assert db.scalar(select(func.count(Resident.id))) == 0
    assert photo_files(app) == []


# --- admin ---------------------------------------------------------------------------------------------------

def sign_in(client, username="admin"):
    from qr.demo import DEMO_PASSWORD

    page = client.get("/staff/signin").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/staff/signin", data={"csrf_token": token, "username": username, "password": DEMO_PASSWORD})


def test_admin_unit_pages(demo, client, db):
    assert client.get("/admin/units").status_code == 302
    sign_in(client)
    page = client.get("/admin/units").get_data(as_text=True)
    assert "梁堂村第一网格" in page and "彭城社区" in page
    found = client.get("/admin/units?q=汉王").get_data(as_text=True)
    assert 'data-unit="320312100202-01"' in found and 'data-unit="320312100201"' not in found
    unit = db.scalar(select(Unit).where(Unit.name == "梁堂村"))
    old = services.current_code(db, unit).token
    client.get(f"/q/{old}")
    detail = client.get(f"/admin/units/{unit.id}").get_data(as_text=True)
    assert '<strong id="scans-today">1</strong>' in detail
    poster = client.get(f"/admin/units/{unit.id}/poster-A5.png")
    assert decode(Image.open(io.BytesIO(poster.data))) == [f"{PUBLIC}/q/{old}"]
    token = re.search(r'name="csrf_token" value="([^"]+)"', detail).group(1)
    asked = client.post(f"/admin/units/{unit.id}/rotate", data={"csrf_token": token})
    assert "墙上现有的海报会立即失效" in asked.get_data(as_text=True)
    assert client.get(f"/q/{old}").status_code == 302  # not rotated without the confirmation
    rotated = client.post(f"/admin/units/{unit.id}/rotate", data={"csrf_token": token, "confirm": "yes"},
                          follow_redirects=True)
    assert "已更换二维码" in rotated.get_data(as_text=True)
    assert client.get(f"/q/{old}").status_code == 410
    with client.get(f"/admin/units/{unit.id}/export.zip") as zipped:
        data = zipped.data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert len(archive.namelist()) == 3
    assert client.get(f"/admin/units/{unit.id}/poster-A3.png").status_code == 400


@pytest.mark.parametrize(("public_url", "warned"), [
    ("http://127.0.0.1:8000", True), ("http://localhost:8000/", True), ("http://[::1]/", True),
    ("https://xinma.example.cn", False), ("http://10.0.0.5", False)])
def test_the_unit_page_warns_when_posters_would_carry_a_loopback_address(demo, client, db, app, public_url, warned):
    app.config["XINMA"] = dataclasses.replace(app.config["XINMA"], public_url=public_url)
    sign_in(client)
    unit = db.scalar(select(Unit).where(Unit.name == "梁堂村"))
    page = client.get(f"/admin/units/{unit.id}").get_data(as_text=True)
    assert ("海报上的二维码在居民手机上打不开" in page) is warned


def test_staff_who_are_not_admins_cannot_see_units(demo, client):
    sign_in(client, "wangge1")
    assert client.get("/admin/units").status_code == 404


def test_mini_program_code_from_wechat_carries_the_units_token(demo, client, db, wechat_sandbox):
    from urllib.parse import parse_qs, urlsplit

    sign_in(client)
    unit = db.scalar(select(Unit).where(Unit.name == "梁堂村"))
    detail = client.get(f"/admin/units/{unit.id}").get_data(as_text=True)
    assert "下载小程序码" in detail and "小程序码 A4 海报" in detail
    res = client.get(f"/admin/units/{unit.id}/wxacode.png")
    image = Image.open(io.BytesIO(res.data))
    assert res.status_code == 200 and image.format == "PNG" and image.size == (1280, 1280)

    def scene_of(picture) -> str:
        [text] = decode(picture)
        query = parse_qs(urlsplit(text).query)
        assert query["page"] == ["pages/report/index"] and query["env_version"] == ["release"]
        return query["scene"][0]

    assert services.resolve_scene(db, scene_of(image)).unit.id == unit.id
    poster = client.get(f"/admin/units/{unit.id}/poster-A4.png?code=wxacode")
    assert poster.status_code == 200 and "-A4-wxacode.png" in poster.headers["Content-Disposition"]
    assert services.resolve_scene(db, scene_of(Image.open(io.BytesIO(poster.data)))).unit.id == unit.id
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "poster-A4-wxacode.png").write_bytes(poster.data)
    # WeChat refusing (quota used up) is said in Chinese, and no image is passed off as a code.
    wechat_sandbox.fault("wxacode", "errcode", 45009)
    refused = client.get(f"/admin/units/{unit.id}/wxacode.png")
    assert refused.status_code == 502
    assert "微信暂时无法生成小程序码（45009）" in refused.get_data(as_text=True)
