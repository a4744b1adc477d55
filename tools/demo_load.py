"""Load on the web demo: N browser-like sessions at once on loopback; reports completion, isolation and
peak memory.

    python tools/demo_load.py [--sessions 8] [--task mixed|sot|vos|mot] [--concurrency 2] [--port 7871]
                              [--max-frames 48] [--weights unicorn-lite] [--timeout 1800]

Starts ``demo/app.py`` on 127.0.0.1 in a child process, then opens ``--sessions`` Gradio client
sessions in threads; each loads the bundled sample video, chooses its task as the page does (the
task's controls come back with the values the tracker runs), gives its own prompt (SOT: a typed box
shifted by the session's number; VOS: an uploaded mask PNG, shifted the same way; MOT: none) and runs
tracking (``--task mixed``: sessions take SOT, VOS and MOT in turn). A session counts as done when its
run finishes and its zip holds its own result: the SOT box of frame 0 is the box it typed, the VOS
mask of frame 0 is the mask it uploaded, and every MOT session's rows equal the first MOT session's.
Prints one line per session and the server's peak resident memory (VmHWM). A script, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "unicorn" / "assets" / "sample.mp4"
SAMPLE_BOX = "42, 86, 36, 68"
TASKS = ("sot", "vos", "mot")


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


def _update_value(update: object) -> object:
    """The value in a component update that the Gradio client returns (a dict, or the value itself)."""
    return update.get("value") if isinstance(update, dict) else update


def _box(i: int) -> tuple[int, int, int, int]:
    x, y, w, h = (int(v) for v in SAMPLE_BOX.split(","))
    return x + 2 * (i % 8), y + (i % 3), w, h


def _mask_png(i: int, folder: Path) -> Path:
    """A first-frame mask of the session's box on the sample's frame size, as a PNG."""
    import cv2
    import numpy as np

    from unicorn.data.video_io import open_video

    first = next(iter(open_video(SAMPLE)))
    mask = np.zeros(first.shape[:2], np.uint8)
    x, y, w, h = _box(i)
    mask[y:y + h, x:x + w] = 1
    path = folder / f"mask{i}.png"
    cv2.imwrite(str(path), mask)
    return path


def _own_result(task: str, i: int, archive: str) -> tuple[bool, str]:
    """Whether the zip holds this session's own result; and the rows MOT sessions compare."""
    import io

    import numpy as np
    from PIL import Image

    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
        if task == "sot":
            first = next(n for n in names if n.endswith("results_pytracking.txt"))
            row = zf.read(first).decode().splitlines()[0].replace("\t", ",").split(",")
            return [round(float(v)) for v in row] == list(_box(i)), ""
        if task == "vos":
            png = sorted(n for n in names if n.endswith(".png") and not n.endswith("confidence.png"))[0]
            got = np.array(Image.open(io.BytesIO(zf.read(png)))) > 0
            x, y, w, h = _box(i)
            want = np.zeros_like(got)
            want[y:y + h, x:x + w] = True
            return bool((got == want).all()), ""
        rows = zf.read(next(n for n in names if n.endswith("results_mot.txt"))).decode()
        return bool(rows.strip()), rows


def _page_api(url: str) -> tuple[float, dict[str, int]]:
    """The NMS slider's value on a new page, and where the /task event returns each threshold control."""
    from gradio_client import Client

    api = Client(url, verbose=False).view_api(print_info=False, return_format="dict")["named_endpoints"]
    nms = next(p["parameter_default"] for p in api["/run"]["parameters"] if p["parameter_name"] == "nms")
    labels = [r.get("label") for r in api["/task"]["returns"]]
    wanted = {"association": "Association", "conf": "Confidence", "assoc": "Association threshold",
              "lost": "Lost below"}
    return nms, {key: labels.index(label) for key, label in wanted.items()}


def session(url: str, task: str, i: int, page: tuple[float, dict[str, int]], folder: Path, out: dict) -> None:
    """One user: load the sample, choose the task, give the prompt, track; records the outcome in ``out``."""
    from gradio_client import Client, handle_file

    t0 = time.perf_counter()
    out["task"] = task
    try:
        client = Client(url, verbose=False)
        client.predict(api_name="/sample")
        nms, where = page
        shown = client.predict(task, "bytetrack", api_name="/task")  # the controls the page would show
        association, conf, assoc, lost = (_update_value(shown[where[k]]) for k in ("association", "conf", "assoc",
                                                                                    "lost"))
        if task == "sot":
            client.predict(", ".join(map(str, _box(i))), api_name="/boxes_typed")
        elif task == "vos":
            client.predict(handle_file(str(_mask_png(i, folder))), api_name="/mask")
        video, archive, status = client.predict(task, [], association or "bytetrack", conf, nms, assoc, lost,
                                                api_name="/run")
        own, rows = _own_result(task, i, archive) if archive else (False, "")
        out.update(ok=bool(archive) and "Done" in status and own, own=own, rows=rows,
                   status=status.replace("\n", " ")[:160])
    except Exception as exc:  # noqa: BLE001 - a failed session is a result to report
        out.update(ok=False, status=f"{type(exc).__name__}: {exc}"[:160])
    out["seconds"] = round(time.perf_counter() - t0, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--task", choices=("mixed", *TASKS), default="mixed",
                        help="every session's task; mixed: SOT, VOS and MOT in turn")
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
        tasks = [TASKS[i % 3] if args.task == "mixed" else args.task for i in range(args.sessions)]
        page = _page_api(url)
        tmp = tempfile.TemporaryDirectory(prefix="unicorn-demo-load-")
        threads = [threading.Thread(target=session, args=(url, tasks[i], i, page, Path(tmp.name), r), daemon=True)
                   for i, r in enumerate(results)]
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
        if "tmp" in locals():
            tmp.cleanup()
    mot_rows = [r["rows"] for r in results if r.get("task") in ("mot", "mots") and r.get("ok")]
    for r in results:  # the same video and settings: every MOT session must get the same rows
        if r.get("ok") and r.get("task") in ("mot", "mots") and r["rows"] != mot_rows[0]:
            r.update(ok=False, own=False, status="its MOT rows differ from another session's")
    done = sum(bool(r.get("ok")) for r in results)
    for r in results:
        r.pop("rows", None)
        print(f"session {r['session']} ({r.get('task')}): {'ok' if r.get('ok') else 'FAILED'} in "
              f"{r.get('seconds', '-')} s, own result {r.get('own')}: "
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
