"""Two web nodes and two workers on one machine, each a process with its own instance folder, sharing only what a
deployment shares (the database, Redis, the secret key): every photo and thumbnail, a complaint's and a 领办
progress photo, is served by either node, and the thumbnails are made by whichever worker takes the job."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from PIL import Image
from sqlalchemy import select

from models import ComplaintState, QrCode, Resident, TopicState, Unit, utcnow
from models.council import Assignment
from qr.demo import DEMO_PASSWORD, seed_demo
from tests import factories
from tests.conftest import ROOT, Workers, wait_for

SECRET = "one-secret-key-every-node-of-this-deployment-shares"
RESIDENT = "o-two-nodes"


class WebNode:
    """`xinma web` in its own process, with its own instance folder."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop
        self.proc = subprocess.Popen([sys.executable, "-c", "import app; app.main()", "web", "--port", str(port)],
                                     env=dict(os.environ, **env), cwd=ROOT, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def answers(self) -> bool:
        assert self.proc.poll() is None, self.log_path.read_text(errors="replace")[-4000:]
        try:
            return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)
        self.log.close()


@pytest.fixture
def nodes(live_env, tmp_path, db, request):
    """Web nodes A and B and two workers, each with its own XINMA_INSTANCE; the demo district in the database."""
    seed_demo(db)
    db.commit()
    folders = {name: tmp_path / name for name in ("node-a", "node-b", "worker-1", "worker-2")}
    envs = {name: dict(live_env, XINMA_INSTANCE=str(folder), XINMA_SECRET_KEY=SECRET)
            for name, folder in folders.items()}
    web = [WebNode(envs[name], tmp_path / f"{name}.log") for name in ("node-a", "node-b")]
    pools = []
    for name in ("worker-1", "worker-2"):
        (tmp_path / f"{name}-logs").mkdir()
        pools.append(Workers(envs[name], tmp_path / f"{name}-logs"))
        pools[-1].start()
    try:
        for node in web:
            wait_for(node.answers, what=f"the web node at {node.url}")
        yield web, folders
    finally:
        for node in web:
            node.stop()
        for pool in pools:
            pool.stop_all()
        if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
            for log in sorted(tmp_path.glob("*.log")) + sorted(tmp_path.glob("worker-*-logs/*.log")):
                print(f"--- {log.name} ---\n" + log.read_text(errors="replace")[-4000:])


def jpeg(color: tuple[int, int, int], size=(900, 600)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def image(res: requests.Response, content_type: str = "image/jpeg") -> bytes:
    """The bytes of a served image, after the checks every photo answer must pass."""
    assert res.status_code == 200, (res.url, res.status_code, res.text[:300])
    assert res.headers["Content-Type"] == content_type
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    Image.open(io.BytesIO(res.content)).verify()
    return res.content


def same_from_both(a: str, b: str, path: str, **kw) -> bytes:
    """The image at `path` as node A and node B serve it: the same bytes from both."""
    from_a = image(requests.get(a + path, timeout=10, **kw))
    assert image(requests.get(b + path, timeout=10, **kw)) == from_a, path
    return from_a


def staff_session(base: str, username: str) -> requests.Session:
    web = requests.Session()
    page = web.get(f"{base}/staff/signin", timeout=10)
    res = web.post(f"{base}/staff/signin", timeout=10,
                   data={"username": username, "password": DEMO_PASSWORD, "csrf_token": csrf(page.text)})
    assert res.status_code == 200 and "退出" in res.text, res.text[:500]
    return web


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def scene_of(db, unit_name: str) -> str:
    unit = db.scalar(select(Unit).where(Unit.name == unit_name))
    return db.scalar(select(QrCode.token).where(QrCode.unit_id == unit.id, QrCode.revoked_at.is_(None)))


def test_every_photo_is_served_by_either_node(nodes, wechat_sandbox, db):
    (node_a, node_b), folders = nodes
    a, b = node_a.url, node_b.url
    login = requests.post(f"{a}/api/v1/sessions", json={"code": wechat_sandbox.login_code(RESIDENT)}, timeout=10)
    assert login.status_code == 201, login.text
    auth = {"Authorization": f"Bearer {login.json()['data']['token']}"}

    # Four photos, two uploaded through each node, sent with a complaint through node B.
    colors = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30)]
    uploaded = {}
    for index, color in enumerate(colors):
        base = (a, b)[index % 2]
        res = requests.post(f"{base}/api/v1/photos", headers=auth, timeout=10,
                            files={"file": (f"IMG_{index}.jpg", jpeg(color), "image/jpeg")})
        assert res.status_code == 201, res.text
        uploaded[res.json()["data"]["id"]] = color
    sent = requests.post(f"{b}/api/v1/complaints", headers=auth, timeout=10,
                         json={"scene": scene_of(db, "梁堂村第一网格"), "category": "设施维修",
                               "text": "梁堂村3组路灯坏了，见照片", "photos": list(uploaded)})
    assert sent.status_code == 201, sent.text

    # The resident sees each photo from either node, and each thumbnail once a worker has made it.
    for pid, color in uploaded.items():
        original = same_from_both(a, b, f"/api/v1/photos/{pid}", headers=auth)
        with Image.open(io.BytesIO(original)) as shown:
            assert shown.size == (900, 600)
            assert max(abs(x - y) for x, y in zip(shown.getpixel((450, 300)), color, strict=True)) < 8
        thumbnail = f"/api/v1/photos/{pid}/thumbnail"
        wait_for(lambda path=thumbnail: requests.get(b + path, headers=auth, timeout=10).status_code == 200,
                 timeout=60, what=f"the thumbnail of photo {pid}")
        assert Image.open(io.BytesIO(same_from_both(a, b, thumbnail, headers=auth))).size == (320, 213)

    # The grid worker, signed in on node A, sees them from either node.
    grid_worker = staff_session(a, "wangge1")
    for pid in uploaded:
        same_from_both(a, b, f"/api/staff/photos/{pid}", cookies=grid_worker.cookies)
        same_from_both(a, b, f"/api/staff/photos/{pid}/thumbnail", cookies=grid_worker.cookies)

    # WeChat's media check fetches each photo from the signed URL a worker made, whichever node it reaches.
    checks = wait_for(lambda: len(c := wechat_sandbox.control("GET", "/_sandbox/media_checks")["media_checks"])
                      == len(uploaded) and c, what="a media check per photo")
    for check in checks:
        same_from_both(a, b, check["media_url"].removeprefix("http://xinma.test"))

    # A 领办 progress photo reported through node A: on the secretary's page and, once the result is published,
    # on the public board, from either node.
    resident = db.scalar(select(Resident).where(Resident.openid == RESIDENT))
    village = db.scalar(select(Unit).where(Unit.name == "梁堂村"))
    topic = factories.topic(db, village, state=TopicState.implementing, title="梁堂村3组路灯维修")
    factories.complaint(db, db.scalar(select(Unit).where(Unit.name == "梁堂村第一网格")), resident,
                        state=ComplaintState.promoted, topic=topic)
    db.add(Assignment(topic_id=topic.id, lead_kind="branch", lead_name="梁堂村党支部", due_on=dt.date.today(),
                      percent=30, round=1, created_at=utcnow()))
    db.commit()
    secretary = staff_session(a, "shuji1")
    page = f"/council/topics/{topic.id}"
    res = secretary.post(f"{a}{page}/progress", timeout=10, allow_redirects=False,
                         data={"csrf_token": csrf(secretary.get(a + page, timeout=10).text), "percent": "100",
                               "note": "路灯已更换"},
                         files={"photos": ("light.jpg", jpeg((90, 160, 30), (40, 30)), "image/jpeg")})
    assert res.status_code == 302, res.text[:300]
    src = re.search(r'<img src="([^"]+)" alt="现场照片"', secretary.get(b + page, timeout=10).text).group(1)
    progress = same_from_both(a, b, src, cookies=secretary.cookies)
    assert Image.open(io.BytesIO(progress)).size == (40, 30)
    res = secretary.post(f"{b}{page}/publications", timeout=10, allow_redirects=False,
                         data={"csrf_token": csrf(secretary.get(b + page, timeout=10).text), "kind": "result",
                               "text": "路灯已全部更换"})
    assert res.status_code == 302, res.text[:300]
    board = f"/api/v1/boards/{scene_of(db, '梁堂村第一网格')}/topics/{topic.id}/photos/{src.rsplit('/', 1)[1]}"
    assert same_from_both(a, b, board, headers=auth) == progress

    # Nothing was written to any node's own folder.
    assert [str(p) for folder in folders.values() if folder.exists() for p in folder.rglob("*")] == []
