"""``unicorn track-many``: track a collection of videos, resumably, sharded over ``torchrun`` processes.

Every video goes through the single-video path of ``unicorn track`` (``cli_track.run_track``) into
``OUT/<name>/``; ``summary.json``, written last by that path, marks a video as done, so a rerun after
a crash skips finished videos and redoes a half-written folder. Under ``torchrun`` rank ``r`` of
``W`` takes videos ``r, r+W, r+2W, ...`` of the list; the ranks meet once at the end (gloo, on CPU,
whatever the tracking device) and rank 0 writes ``OUT/index.json`` and ``OUT/benchmark/``, the
per-sequence layout that ``unicorn eval --results OUT/benchmark`` reads.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from .errors import UserError

LIST_SUFFIXES = (".txt", ".list")
FRAME_FOLDERS = ("img1", "img")  # MOTChallenge / LaSOT frame folders: the sequence is the parent folder
# The file each task's benchmarks read (``unicorn eval``), by output format; VOS reads a folder of PNGs.
BENCHMARK_FILES = {"sot": "results_pytracking.txt", "mot": "results_mot.txt", "mots": "results_mots.txt",
                   "vos": "davis"}
PATH_OPTIONS = ("--mask", "--detections")  # file arguments of a list line, relative to the list file
PER_RUN = ("task", "out", "overwrite")  # track options a list line may not set for one video
# Ranks wait for each other only at the end; the slowest share of videos may take long.
COLLECTIVE_TIMEOUT = timedelta(hours=72)
_UNSET = object()


@dataclass(frozen=True)
class Job:
    """One video of the collection.

    Attributes:
        input: the video as listed (file, folder of frames or URL).
        name: its result folder's name under ``--out`` (also its sequence name for ``unicorn eval``).
        options: ``unicorn track`` options for this video only (from its line of the list file).
    """

    input: str
    name: str
    options: tuple[str, ...] = ()


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are :class:`UserError` (one line) instead of ``SystemExit``."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(message)


def track_parser() -> argparse.ArgumentParser:
    """The parser of ``unicorn track`` (raising :class:`UserError`), built by the CLI's own function."""
    from .cli_track import add_track_parser

    sub = _Parser(prog="unicorn").add_subparsers()
    add_track_parser(sub)
    return sub.choices["track"]


def sequence_name(video: str) -> str:
    """Result folder name of a video: its file or folder name, or the parent's for ``img1`` / ``img``."""
    path = Path(video.rstrip("/"))
    return path.parent.name if path.name in FRAME_FOLDERS and path.parent.name else path.stem


def _beside(value: str, folder: Path) -> str:
    """``value`` as a path relative to ``folder`` unless it is absolute or a URL."""
    return value if "://" in value or Path(value).is_absolute() else str(folder / value)


def _paths_beside(words: list[str], folder: Path) -> list[str]:
    """Per-video options with the file arguments (``--mask``, ``--detections``) made relative to ``folder``."""
    out = list(words)
    for i, word in enumerate(out):
        name, eq, value = word.partition("=")
        if name in PATH_OPTIONS and eq:
            out[i] = f"{name}={_beside(value, folder)}"
        elif word in PATH_OPTIONS and i + 1 < len(out):
            out[i + 1] = _beside(out[i + 1], folder)
    return out


def read_jobs(spec: str) -> list[Job]:
    """The videos named by a list file (``.txt`` / ``.list``) or a glob pattern, in order.

    A list file has one video per line, optionally followed by ``unicorn track`` options for that
    video only (e.g. ``clip.mp4 --box 10,20,50,80``); blank lines and ``#`` comments are skipped and
    relative paths (the video, ``--mask``, ``--detections``) are relative to the list file's folder.

    Raises:
        UserError: nothing matches, a line's options are invalid, or two videos share a name.
    """
    path = Path(spec)
    jobs = []
    if path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
        parser = track_parser()
        for number, line in enumerate(path.read_text().splitlines(), 1):
            try:
                words = shlex.split(line, comments=True)
            except ValueError as err:
                raise UserError(f"{path}:{number}: {err} (quote paths with spaces)") from None
            if not words:
                continue
            video, words[1:] = _beside(words[0], path.parent), _paths_beside(words[1:], path.parent)
            probe = argparse.Namespace(**dict.fromkeys(PER_RUN, _UNSET))
            try:
                parser.parse_args([video, *words[1:]], namespace=probe)
            except UserError as err:
                raise UserError(f"{path}:{number}: {err}") from None
            given = [name for name in PER_RUN if getattr(probe, name) is not _UNSET]
            if given:
                raise UserError(f"{path}:{number}: --{given[0]} is set for the whole run, not per video")
            jobs.append(Job(video, sequence_name(video), tuple(words[1:])))
    else:
        jobs = [Job(v, sequence_name(v)) for v in sorted(glob.glob(spec, recursive=True))]
    if not jobs:
        raise UserError(f"no videos in {spec!r}: give a list file (.txt, one video per line) or a glob "
                        "such as 'videos/*.mp4' (quoted)")
    seen: dict[str, str] = {}
    for job in jobs:
        if job.name in seen:
            raise UserError(f"{seen[job.name]} and {job.input} would share the result folder {job.name!r}; "
                            "rename one or track them in separate runs")
        seen[job.name] = job.input
    return jobs


def video_status(folder: Path, job: Job, task: str) -> str:
    """``done`` (a ``summary.json`` of this input and task), ``partial`` (a folder without it) or ``new``.

    Raises:
        UserError: the folder holds the results of another video or task.
    """
    summary = folder / "summary.json"
    if summary.is_file():
        try:
            got = json.loads(summary.read_text())
        except ValueError:  # cut short by a crash while it was written
            return "partial"
        if got.get("input") != job.input or got.get("task") != task:
            raise UserError(f"{folder} holds results of {got.get('input')} ({got.get('task')}), not of "
                            f"{job.input} ({task}); use another --out")
        return "done" if got.get("status", "complete") == "complete" else "partial"  # running/interrupted/failed
    return "partial" if folder.exists() else "new"


def _distributed() -> tuple[int, int, int]:
    """Rank, world size and local rank from torchrun's environment; joins the gloo group when several."""
    import torch.distributed as dist

    world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("gloo", timeout=COLLECTIVE_TIMEOUT)
    return rank, world, int(os.environ.get("LOCAL_RANK", "0"))


def _gather(records: list[dict], world: int) -> list[dict]:
    """Every rank's records (on every rank)."""
    if world == 1:
        return records
    import torch.distributed as dist

    parts: list = [None] * world
    dist.all_gather_object(parts, records)
    return [r for part in parts for r in part]


def _track_one(job: Job, args: argparse.Namespace, out: Path, status: str, parser: argparse.ArgumentParser) -> dict:
    """Track one video with ``unicorn track``'s own function; a record for the index."""
    from .cli_track import run_track

    record = {"input": job.input, "folder": job.name, "status": "done"}
    if status == "done":
        record["status"] = "skipped"
    else:
        ns = argparse.Namespace(**{k: (list(v) if isinstance(v, list) else v) for k, v in vars(args).items()})
        ns.input, ns.out, ns.overwrite = job.input, str(out / job.name), status == "partial"
        try:
            if job.options:
                parser.parse_args([job.input, *job.options], namespace=ns)
            run_track(ns)
        except Exception as err:  # noqa: BLE001 - one bad video must not stop the collection
            message = str(err) if isinstance(err, UserError) else f"{type(err).__name__}: {err}"
            print(f"error: {job.input}: {message}", file=sys.stderr)
            return {**record, "status": "failed", "error": message}
    summary = json.loads((out / job.name / "summary.json").read_text())
    return {**record, "frames": summary["frames"], "tracks": summary["tracks"]}


def _benchmark_view(out: Path, records: list[dict], task: str) -> Path:
    """Copy each finished video's benchmark file to ``out/benchmark/<name>.txt`` (VOS: ``<name>/*.png``)."""
    view = out / "benchmark"
    view.mkdir(exist_ok=True)
    source = BENCHMARK_FILES[task]
    for rec in records:
        src = out / rec["folder"] / source
        if rec["status"] == "failed" or not src.exists():
            continue
        if src.is_dir():
            shutil.copytree(src, view / rec["folder"], dirs_exist_ok=True)
        else:
            shutil.copyfile(src, view / f"{rec['folder']}.txt")
    return view


def _write_index(out: Path, records: list[dict], task: str, world: int) -> Path:
    """Write ``out/index.json`` (every video, its folder and status) atomically."""
    counts = {s: sum(r["status"] == s for r in records) for s in ("done", "skipped", "failed")}
    index = {"task": task, "processes": world, "videos": records, **counts,
             "benchmark_folder": "benchmark", "benchmark_source": BENCHMARK_FILES[task]}
    tmp = out / "index.json.tmp"
    tmp.write_text(json.dumps(index, indent=2) + "\n")
    os.replace(tmp, out / "index.json")
    return out / "index.json"


def run_track_many(args: argparse.Namespace) -> int:
    """Track every video of ``args.videos`` into ``args.out``; 0 when all are done, 1 when some failed."""
    jobs = read_jobs(args.videos)
    out = Path(args.out)
    statuses = [video_status(out / job.name, job, args.task) for job in jobs]  # raises before any work
    rank, world, local_rank = _distributed()
    try:
        if world > 1 and args.device in (None, "cuda"):
            import torch

            args.device = f"cuda:{local_rank}" if torch.cuda.is_available() else args.device
        return _run_share(jobs, statuses, args, out, rank, world)
    finally:
        if world > 1:
            import torch.distributed as dist

            dist.destroy_process_group()


def _run_share(jobs: list[Job], statuses: list[str], args: argparse.Namespace, out: Path, rank: int,
               world: int) -> int:
    """Track this rank's videos, gather every rank's records, and (rank 0) write the index."""
    from tqdm import tqdm

    out.mkdir(parents=True, exist_ok=True)
    mine = list(range(rank, len(jobs), world))
    todo = sum(statuses[i] != "done" for i in mine)
    who = f"rank {rank}/{world}: " if world > 1 else ""
    print(f"{who}{len(mine)} of {len(jobs)} videos, {len(mine) - todo} already done", file=sys.stderr)
    parser = track_parser()
    records = []
    for i in tqdm(mine, unit="video", desc=f"{who}videos", file=sys.stderr):
        records.append({**_track_one(jobs[i], args, out, statuses[i], parser), "order": i})
    records = [{k: v for k, v in r.items() if k != "order"}
               for r in sorted(_gather(records, world), key=lambda r: r["order"])]
    failed = [r for r in records if r["status"] == "failed"]
    if rank == 0:
        _benchmark_view(out, records, args.task)
        index = _write_index(out, records, args.task, world)
        print(f"{len(records) - len(failed)} of {len(records)} videos done -> {out} (index: {index})")
    if failed:
        print(f"error: {len(failed)} of {len(records)} videos failed (first: {failed[0]['input']}: "
              f"{failed[0]['error']}); fix them and run the same command again", file=sys.stderr)
    return 1 if failed else 0


def add_track_many_parser(sub) -> None:
    """Add ``track-many`` to the CLI: the options of ``unicorn track`` (for every video) plus a list and --out."""
    p = sub.add_parser(
        "track-many", help="track many videos (a list file or a glob), resumable; shards over torchrun processes",
        description="unicorn track-many LIST_OR_GLOB --task TASK --out DIR [unicorn track options]; several "
                    "processes: torchrun --nproc_per_node N -m unicorn.cli track-many ...")
    p.add_argument("videos", help="a list file (.txt: one video per line, optionally followed by that video's "
                                  "own track options, e.g. --box) or a quoted glob such as 'clips/*.mp4'")
    p.add_argument("--out", required=True, help="result folder: OUT/<video name>/, OUT/index.json, OUT/benchmark/")
    for action in track_parser()._actions:  # noqa: SLF001 - reuse every option of `unicorn track` as is
        if action.dest not in ("help", "input", "out", "overwrite"):
            p._add_action(action)  # noqa: SLF001
