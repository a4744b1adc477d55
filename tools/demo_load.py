"""Load on the web demo: N browser-like sessions at once on loopback; reports completion and peak memory.

    python tools/demo_load.py [--sessions 8] [--task sot|mot] [--concurrency 2] [--port 7871]
                              [--max-frames 48] [--weights unicorn-lite] [--timeout 1800]

Starts ``demo/app.py`` on 127.0.0.1 in a child process, then opens ``--sessions`` Gradio client
sessions in threads; each loads the bundled sample video, gives its prompt (SOT: a typed box) and
runs tracking. Prints one line per session (ok or the error, seconds, the status text) and the
server's peak resident memory (VmHWM) with the sessions' completion count. A script, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE_BOX = "42, 86, 36, 68"


def memory_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process in MB, from /proc."""
    values = {}
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(("VmRSS:", "VmHWM:")):
            values[line.split(":")[0]] = int(line.split()[1]) / 1024.0
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def wait_for_port(port: int, server: subprocess.Popen, limit: float) -> None:
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if server.poll() is not None:
            raise SystemExit(f"the demo server exited with code {server.returncode} before serving")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise SystemExit(f"the demo server did not answer on port {port} within {limit:.0f} s")


def session(url: str, task: str, out: dict) -> None:
    """One user: load the sample, give the prompt, track; records the outcome in ``out``."""
    from gradio_client import Client

    t0 = time.perf_counter()
    try:
        client = Client(url, verbose=False)
        client.predict(api_name="/sample")
        if task == "sot":
            client.predict(SAMPLE_BOX, api_name="/boxes_typed")
        video, archive, status = client.predict(task, [], "bytetrack", 0.3, 0.7, 0.6, api_name="/run")
        out.update(ok=bool(archive) and "Done" in status, status=status.replace("\n", " ")[:160])
    except Exception as exc:  # noqa: BLE001 - a failed session is a result to report
        out.update(ok=False, status=f"{type(exc).__name__}: {exc}"[:160])
    out["seconds"] = round(time.perf_counter() - t0, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--task", choices=("sot", "mot"), default="sot")
    parser.add_argument("--concurrency", type=int, default=2, help="the demo's --concurrency")
    parser.add_argument("--port", type=int, default=7871)
    parser.add_argument("--max-frames", type=int, default=48, help="the demo's --max-frames")
    parser.add_argument("--weights", default="unicorn-lite")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for all sessions")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()

    env = {**os.environ, "PYTHONPATH": str(REPO), "GRADIO_ANALYTICS_ENABLED": "False"}
    server = subprocess.Popen([sys.executable, str(REPO / "demo" / "app.py"), "--host", "127.0.0.1", "--port",
                               str(args.port), "--weights", args.weights, "--concurrency", str(args.concurrency),
                               "--max-frames", str(args.max_frames)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_for_port(args.port, server, 300)
        idle_mb = memory_mb(server.pid)[0]
        url = f"http://127.0.0.1:{args.port}/"
        results = [{"session": i} for i in range(args.sessions)]
        threads = [threading.Thread(target=session, args=(url, args.task, r), daemon=True) for r in results]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        peak_seen = idle_mb
        while any(t.is_alive() for t in threads) and time.perf_counter() - t0 < args.timeout:
            peak_seen = max(peak_seen, memory_mb(server.pid)[0])
            time.sleep(0.5)
        current, peak = memory_mb(server.pid)
    finally:
        server.terminate()
        server.wait(30)
    done = sum(bool(r.get("ok")) for r in results)
    for r in results:
        print(f"session {r['session']}: {'ok' if r.get('ok') else 'FAILED'} in {r.get('seconds', '-')} s: "
              f"{r.get('status', 'did not finish before --timeout')}")
    summary = {"sessions": args.sessions, "completed": done, "task": args.task, "concurrency": args.concurrency,
               "seconds": round(time.perf_counter() - t0, 1), "server_idle_mb": round(idle_mb, 1),
               "server_peak_mb": round(max(peak, peak_seen), 1), "server_end_mb": round(current, 1)}
    print(json.dumps(summary))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "sessions": results}, indent=2) + "\n")
    sys.exit(0 if done == args.sessions else 1)


if __name__ == "__main__":
    main()
