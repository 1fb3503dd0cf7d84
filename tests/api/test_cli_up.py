"""The README's run command for real: `kuaiche up` in its own process, then Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from kuaiche.services import SERVICES
from tests.support.ports import free_port


def test_up_serves_with_a_working_token_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    ports = {name: free_port() for name in SERVICES}
    port = ports["registry"]
    gateway = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUAICHE_")} | {
        f"KUAICHE_{name.upper()}_PORT": str(p) for name, p in ports.items()
    }
    env["KUAICHE_GATEWAY_PORT"] = str(gateway)
    kuaiche = Path(sys.executable).parent / "kuaiche"
    proc = subprocess.Popen(
        [str(kuaiche), "up", "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 60
        assert proc.stdout is not None
        while "Ctrl-C stops." not in lines and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
        assert "Ctrl-C stops." in lines, "\n".join(lines)
        # A person's command: what they need, not the migration tool's log.
        assert not [line for line in lines if " INFO " in line or "alembic" in line], lines
        assert any(f"http://127.0.0.1:{port}" in line for line in lines)
        token = lines[lines.index("commander token (Authorization: Bearer ...):") + 1]

        base = f"http://127.0.0.1:{port}"
        for name, p in ports.items():  # every service is up, each on its own port
            assert any(f"http://127.0.0.1:{p}" in line for line in lines), name
            assert httpx.get(f"http://127.0.0.1:{p}/readyz").status_code == 200, name
        r = httpx.get(f"{base}/v1/projects", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json() == {"items": [], "total": 0}
        # the console's link, a click away: the gateway with the commander token in the fragment
        assert f"http://127.0.0.1:{gateway}/#token={token}" in lines
        for name in SERVICES:  # and every service under its prefix on the gateway
            assert httpx.get(f"http://127.0.0.1:{gateway}/{name}/readyz").status_code == 200

        # A token from `kuaiche token` with the same data dir is accepted too.
        county = subprocess.run(
            [
                str(kuaiche),
                "token",
                "--role",
                "county",
                "--county",
                "371602",
                "--data-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stdout.strip()
        r = httpx.get(f"{base}/v1/projects", headers={"Authorization": f"Bearer {county}"})
        assert r.status_code == 200

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
