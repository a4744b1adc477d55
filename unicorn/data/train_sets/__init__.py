"""Training-set readers: each lists videos (a still image is a one-frame video) for the pair sampler.

See ``base`` for the interface, ``unicorn.data.pairs`` for the sampling and
``datasets/README.md`` (Training data) for the folder layouts.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from unicorn.data.train_sets.base import FrameLabels, LabelMapVideo, TableVideo, TrainSet, Video
from unicorn.data.train_sets.bdd100k import BDDBoxTrack, BDDDet, BDDInsSeg, BDDSegTrack
from unicorn.data.train_sets.coco import COCOTrain
from unicorn.data.train_sets.pedestrians import ETHZ, CityPersons, CrowdHuman, JDEImages, MOT17Train
from unicorn.data.train_sets.real_clips import RealVOSClips
from unicorn.data.train_sets.segmentation import DAVISTrain, MOTS20Train, Saliency, YouTubeVOSTrain
from unicorn.data.train_sets.sot import GOT10kTrain, LaSOTTrain, TrackingNetTrain
from unicorn.errors import UserError

# name -> reader class (called as cls(root, **kwargs)); root None means the class's default folder.
TRAIN_SETS: dict[str, Callable[..., TrainSet]] = {
    "coco": COCOTrain,
    "lasot": LaSOTTrain,
    "got10k": GOT10kTrain,
    "trackingnet": TrackingNetTrain,
    "mot17": MOT17Train,
    "crowdhuman": CrowdHuman,
    "citypersons": CityPersons,
    "ethz": ETHZ,
    "bdd100k-det": BDDDet,
    "bdd100k-box-track": BDDBoxTrack,
    "bdd100k-ins-seg": BDDInsSeg,
    "bdd100k-seg-track": BDDSegTrack,
    "davis2017": DAVISTrain,
    "real-vos": RealVOSClips,
    "youtube-vos": YouTubeVOSTrain,
    "mots20": MOTS20Train,
    "saliency": Saliency,
}


def open_train_set(name: str, root: str | Path | None = None, **kwargs) -> TrainSet:
    """The training-set reader of ``name`` (see ``TRAIN_SETS``).

    Raises:
        UserError: unknown name, or the data is not where the layout says.
    """
    key = name.lower().replace("_", "-")
    if key not in TRAIN_SETS:
        raise UserError(f"unknown training set {name!r}; choose one of: {', '.join(TRAIN_SETS)}")
    return TRAIN_SETS[key](root, **kwargs)


__all__ = ["BDDBoxTrack", "BDDDet", "BDDInsSeg", "BDDSegTrack", "COCOTrain", "CityPersons", "CrowdHuman", "DAVISTrain",
           "ETHZ", "FrameLabels", "GOT10kTrain", "JDEImages", "LaSOTTrain", "LabelMapVideo", "MOT17Train",
           "MOTS20Train", "RealVOSClips", "Saliency", "TRAIN_SETS", "TableVideo", "TrackingNetTrain", "TrainSet",
           "Video", "YouTubeVOSTrain", "open_train_set"]
