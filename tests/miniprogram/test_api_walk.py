"""The mini-program's API module walked against the real backend: a Node process (miniprogram/test/walk/walk.js)
plays the resident's phone through `utils/api.js`, with the WeChat sandbox issuing its wx.login codes; this test
runs the backend, the sandbox and a worker, and does the staff's steps (pages and forms, with their CSRF tokens)
when the walk asks. Node is required: in CI a missing node fails the test."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path

import requests
from PIL import Image
from sqlalchemy import select, update

from models import Meeting, QrCode, Unit, utcnow
from models.message_templates import MINIPROGRAM_PAGES
from tests.conftest import ROOT, needs, wait_for
from tests.council.support import PASSWORD, china_today, csrf, local_input, version

WALK = ROOT / "miniprogram" / "test" / "walk" / "walk.js"
RESIDENT = "o-miniprogram-walk"
SECRETARY = "demo-secretary-liangtang"


def staff_session(base: str, username: str) -> requests.Session:
    web = requests.Session()
    page = web.get(f"{base}/staff/signin", timeout=10)
    res = web.post(f"{base}/staff/signin", timeout=10,
                   data={"username": username, "password": PASSWORD, "csrf_token": csrf(page.text)})
    assert res.status_code == 200 and "退出" in res.text, res.text[:500]
    return web


def post_form(web: requests.Session, page_url: str, action: str, data: dict) -> str:
    page = web.get(page_url, timeout=10).text
    data = dict(data, csrf_token=csrf(page))
    if 'name="version"' in page:
        data["version"] = version(page)
    res = web.post(action, data=data, timeout=10)
    assert res.status_code == 200, res.text[:800]
    return res.text


class Staff:
    """The staff's side of the walk, each step as the grid worker or the secretary does it on their pages."""

    def __init__(self, base: str, db, village: Unit) -> None:
        self.base, self.db, self.village = base, db, village
        self.worker = staff_session(base, "wangge1")
        self.secretary = staff_session(base, "shuji1")

    def promote(self, complaint_id: int) -> dict:
        base = self.base
        wait_for(lambda: f'data-complaint="{complaint_id}"' in self.worker.get(f"{base}/triage/", timeout=10).text,
                 what="the complaint in the grid worker's queue")
        post_form(self.worker, f"{base}/triage/complaints/{complaint_id}",
                  f"{base}/triage/complaints/{complaint_id}/promote",
                  {"title": "梁堂村3组路灯维修", "summary": "居民反映路灯损坏", "category": "livelihood"})
        return {}

    def approve(self, topic_id: int) -> dict:
        url = f"{self.base}/council/topics/{topic_id}"
        assert "已审定" in post_form(self.secretary, url, f"{url}/approve", {})
        return {}

    def meeting(self, topic_id: int) -> dict:
        """An open meeting (开放报名, 30 places) of the village's council three hours ahead, the topic on its
        agenda."""
        base, web = self.base, self.secretary
        starts = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(hours=3)
        res = web.post(f"{base}/council/meetings/", timeout=10, data={
            "csrf_token": csrf(web.get(f"{base}/council/meetings/", timeout=10).text), "unit_id": self.village.id,
            "title": "梁堂村19点议事厅", "starts_at": local_input(starts), "place": "梁堂村党群服务中心",
            "form": "forum", "is_open": "1", "capacity": "30"})
        assert res.status_code == 200, res.text[:500]
        meeting_id = int(res.url.rsplit("/", 1)[1])
        post_form(web, res.url, f"{res.url}/agenda", {"topic_id": topic_id})
        return {"meeting_id": meeting_id}

    def bind_code(self) -> dict:
        """The grid worker's 8-digit code from 微信通知 (/staff/wechat), to type into the mini-program's staff page
        (the demo's grid worker is bound to another WeChat: unbound first)."""
        page = self.worker.get(f"{self.base}/staff/wechat", timeout=10).text
        if "解除绑定" in page:
            page = self.worker.post(f"{self.base}/staff/wechat", data={"csrf_token": csrf(page), "action": "unbind"},
                                    timeout=10).text
        res = self.worker.post(f"{self.base}/staff/wechat", data={"csrf_token": csrf(page), "action": "code"},
                               timeout=10)
        assert res.status_code == 200, res.text[:800]
        return {"bind_code": re.search(r'id="bind-code">(\d{4}) (\d{4})<', res.text).expand(r"\1\2")}

    def implement(self, topic_id: int, meeting_id: int) -> dict:
        """The meeting is held (its time moved to just past: the record is taken after the start) and agrees a
        solution; the secretary assigns the 领办 and reports it done."""
        base, web = self.base, self.secretary
        self.db.execute(update(Meeting).where(Meeting.id == meeting_id)
                        .values(starts_at=utcnow() - dt.timedelta(minutes=5)))
        self.db.commit()
        meeting_url = f"{base}/council/meetings/{meeting_id}"
        page = web.get(meeting_url, timeout=10).text
        res = web.post(f"{meeting_url}/record", timeout=10, data={
            "csrf_token": csrf(page), "registration": re.findall(r'name="registration" value="(\d+)"', page),
            f"result_{topic_id}": "consensus", f"solution_{topic_id}": "由村委会联系供电所更换3组6盏路灯，两周内完成",
            "minutes": "报名居民出席。议定：更换路灯，村委会牵头。"})
        assert res.status_code == 200 and "已召开" in res.text, res.text[:800]
        topic_url = f"{base}/council/topics/{topic_id}"
        post_form(web, topic_url, f"{topic_url}/assignment",
                  {"lead_kind": "secretary", "lead_name": "王书记", "due_on": china_today(14)})
        post_form(web, topic_url, f"{topic_url}/progress", {"percent": "100", "note": "6盏路灯已更换"})
        return {}


def jpeg(path: Path) -> Path:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 180, 40)).save(out, "JPEG")
    path.write_bytes(out.getvalue())
    return path


def node() -> str:
    found = shutil.which("node")
    if found is None:
        needs("node (Node.js 20) for the mini-program's tests")
    version_text = subprocess.run([found, "--version"], capture_output=True, text=True, check=True).stdout
    assert int(version_text.lstrip("v").split(".")[0]) >= 20, version_text
    return found


def test_app_json_has_every_page_a_message_or_a_code_opens():
    pages = json.loads((ROOT / "miniprogram" / "app.json").read_text())["pages"]
    assert set(MINIPROGRAM_PAGES) <= set(pages), set(MINIPROGRAM_PAGES) - set(pages)
    for page in pages:
        for ext in ("js", "json", "wxml", "wxss"):
            assert (ROOT / "miniprogram" / f"{page}.{ext}").is_file(), f"{page}.{ext}"


def test_a_resident_walks_the_api_from_the_miniprogram(live_app, workers, wechat_sandbox, db, tmp_path):
    from qr.demo import seed_demo

    executable = node()
    seed_demo(db)
    db.commit()
    grid = db.scalar(select(Unit).where(Unit.name == "梁堂村第一网格"))
    village = db.scalar(select(Unit).where(Unit.name == "梁堂村"))
    token = db.scalar(select(QrCode.token).where(QrCode.unit_id == grid.id, QrCode.revoked_at.is_(None)))
    workers.start()
    wechat_sandbox.control("POST", "/_sandbox/users", {"openid": RESIDENT, "nickname": "张阿姨"})
    wechat_sandbox.subscribe(SECRETARY, "xinma-topic-proposed")
    staff = Staff(live_app.url, db, village)

    env = dict(os.environ, XINMA_API_BASE=f"{live_app.url}/api/v1", XINMA_SANDBOX_URL=wechat_sandbox.url,
               XINMA_POSTER_LINK=f"http://xinma.test/q/{token}", XINMA_WALK_PHOTO=str(jpeg(tmp_path / "light.jpg")),
               XINMA_WALK_OPENID=RESIDENT)
    errors: list[str] = []
    steps, done, status = [], False, None
    with subprocess.Popen([executable, str(WALK)], cwd=ROOT / "miniprogram", env=env, text=True,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        reader = threading.Thread(target=lambda: errors.extend(proc.stderr), daemon=True)
        reader.start()
        timer = threading.Timer(240, proc.kill)
        timer.start()
        try:
            for line in proc.stdout:
                if line.startswith("@@done"):
                    done = True
                elif line.startswith("@@staff "):
                    request = json.loads(line[len("@@staff "):])
                    steps.append(request.pop("step"))
                    try:
                        answer = getattr(staff, steps[-1])(**request)
                    except BaseException as exc:
                        proc.stdin.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"[:500]}) + "\n")
                        proc.stdin.flush()
                        raise
                    proc.stdin.write(json.dumps(answer) + "\n")
                    proc.stdin.flush()
            status = proc.wait(30)
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
            reader.join(5)
    assert status == 0 and done, "the walk failed:\n" + "".join(errors)[-6000:]
    assert steps == ["promote", "approve", "meeting", "implement", "bind_code"]
