"""`xinma up` as a newcomer runs it: embedded SQLite, embedded Redis, a worker, the WeChat sandbox; Ctrl-C stops all.

It always runs on the embedded defaults, whatever database and Redis the rest of the suite uses.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.conftest import wait_for

pytestmark = pytest.mark.slow

RESIDENT = "o-up-resident"
READY = "Press Ctrl-C to stop everything."
# `import app; app.main()`, with Ctrl-C handled as in a terminal even when pytest itself was started in the
# background by a non-interactive shell (which leaves SIGINT ignored, and an ignored signal is inherited).
BOOT = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); import app; app.main()"


def free_port_pair() -> int:
    """A port p with p + 1 free as well (`xinma up` serves the sandbox on the next port)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            if port >= 65535:
                continue
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return port
    pytest.fail("no two consecutive free ports")


def ps(columns: str) -> str:
    return subprocess.run(["ps", "-ww", "-eo", columns], capture_output=True, text=True, check=True).stdout


def processes_in_group(pgid: int) -> list[str]:
    out = ps("pgid=,pid=,stat=,args=")
    rows = [line.split(None, 3) for line in out.splitlines()]
    return [" ".join(row) for row in rows if len(row) >= 3 and row[0] == str(pgid) and not row[2].startswith("Z")]


def processes_mentioning(text: str) -> list[str]:
    out = ps("pid=,stat=,args=")
    return [line for line in out.splitlines() if text in line and "Z" not in line.split()[1]]


class Up:
    """`xinma up` in its own process group (as a terminal runs it), its output read line by line."""

    def __init__(self, tmp_path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("XINMA_")}
        env.update(XINMA_INSTANCE=str(tmp_path / "instance"), PYTHONUNBUFFERED="1")
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-c", BOOT, "up", "--port", str(port)],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def read_until(self, marker: str, timeout: float) -> list[str]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"`xinma up` did not print {marker!r} within {timeout}s:\n" + "\n".join(self.output))
            if line is None:
                self.proc.wait(10)
                pytest.fail(f"`xinma up` exited ({self.proc.returncode}) before {marker!r}:\n" + "\n".join(self.output))
            self.output.append(line)
            if marker in line:
                return self.output

    def drain(self) -> list[str]:
        """Everything printed so far (call after the process ended and the reader finished)."""
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                return self.output
            if line is not None:
                self.output.append(line)

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)


@pytest.fixture
def up(tmp_path):
    port = free_port_pair()
    running = Up(tmp_path, port)
    running.port = port
    yield running
    if running.proc.poll() is None:
        running.kill()
    for pid_line in processes_in_group(running.proc.pid):  # leave nothing behind, even when the test failed
        os.kill(int(pid_line.split()[1]), signal.SIGKILL)
    running.reader.join(10)
    running.proc.stdout.close()


def test_up_runs_the_whole_system_and_ctrl_c_stops_it(up, tmp_path):
    started = time.monotonic()
    output = up.read_until(READY, timeout=60)
    text = "\n".join(output)
    base = f"http://127.0.0.1:{up.port}"
    sandbox = f"http://127.0.0.1:{up.port + 1}"
    assert "(demo district created)" in text
    assert f"Sandbox inbox:      {sandbox}/inbox" in text
    assert f"Grid worker page:   {base}/triage/" in text
    assert f"Admin home:         {base}/admin/    (admin / xinma-demo)" in text
    assert "公网地址（XINMA_PUBLIC_URL）是本机地址" in text  # posters printed from this set-up warn as well
    assert (tmp_path / "instance" / "xinma.db").exists(), "the SQLite file belongs in XINMA_INSTANCE"
    scan = re.search(r"梁堂村第一网格\s+(http://\S+/q/\S+)", text)
    assert scan, text

    http = requests.Session()
    assert http.get(f"{base}/healthz", timeout=10).json() == {"ok": True}
    # Scanned with WeChat (its User-Agent says MicroMessenger): into the simulated mini-program, handed the whole link
    # as q with scancode_time, as WeChat opens a mini-program for a plain-link scan.
    hop = http.get(scan.group(1), allow_redirects=False, timeout=10,
                   headers={"User-Agent": "Mozilla/5.0 (iPhone) Mobile/15E148 MicroMessenger/8.0.50"})
    assert hop.status_code == 302
    target = urlsplit(hop.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{sandbox}/phone"
    query = parse_qs(target.query)
    assert query["q"] == [scan.group(1)] and query["scancode_time"][0].isdigit()
    scene = scan.group(1).rsplit("/", 1)[1]
    assert http.get(f"{base}/staff/signin", timeout=10).status_code == 200
    assert http.get(f"{sandbox}/inbox", timeout=10).status_code == 200

    # The resident's first step on the simulated phone, posted as its form would post it.
    phone = http.get(hop.headers["Location"], timeout=10)
    assert phone.status_code == 200 and "梁堂村第一网格" in phone.text
    assert f'name="scene" value="{scene}"' in phone.text  # the backend found the scene in the link
    allowed = re.findall(r'name="subscribe" value="([^"]+)"', phone.text)
    assert len(allowed) >= 3
    res = http.post(f"{sandbox}/phone", timeout=20, data={
        "openid": RESIDENT, "nickname": "张阿姨", "scene": scene, "category": "设施维修",
        "text": "梁堂村3组路灯坏了半个月，晚上出行很不安全", "subscribe": allowed,
    })
    assert res.status_code == 201 and "提交成功" in res.text, res.text
    complaint_id = re.search(r'class="complaint-id">(\d+)<', res.text).group(1)

    def receipt():
        messages = http.get(f"{sandbox}/_sandbox/messages", params={"openid": RESIDENT}, timeout=10).json()
        return messages["messages"]

    received = wait_for(receipt, timeout=30, interval=0.25, what="the receipt message through the embedded worker")
    assert [m["template_title"] for m in received] == ["问题受理通知"]
    assert received[0]["data"]["thing2"] == "梁堂村第一网格"
    assert received[0]["page"].startswith(f"pages/complaint/detail?id={complaint_id}")
    http.close()

    redis_socket = json.loads((tmp_path / "instance" / "redis.db.settings").read_text())["unixsocket"]
    assert processes_mentioning(redis_socket), "the embedded Redis should be running"

    # Ctrl-C in the terminal: SIGINT to the whole foreground process group.
    group = processes_in_group(up.proc.pid)
    assert any(" worker" in line for line in group), group
    os.killpg(up.proc.pid, signal.SIGINT)
    try:
        code = up.proc.wait(30)
    except subprocess.TimeoutExpired:
        pytest.fail("`xinma up` still running 30s after Ctrl-C:\n" + "\n".join(up.output[-40:]))
    up.reader.join(10)
    tail = "\n".join(up.drain()[-40:])
    assert code == 0, tail
    assert "stopped" in tail, tail
    assert wait_for(lambda: not processes_in_group(up.proc.pid), timeout=5, what="no process left in the group")
    assert not processes_mentioning(redis_socket), "the embedded Redis server outlived `xinma up`"
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/healthz", timeout=2)
    assert time.monotonic() - started < 60
