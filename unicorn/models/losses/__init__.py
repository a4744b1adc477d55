"""Training losses: SimOTA-assigned detection loss, correspondence losses, and the Unicorn total."""

from .correspondence import mot_correspondence_loss, sot_correspondence_loss
from .detection import detection_loss, dice_loss, iou_loss
from .simota import Assignment, simota_assign
from .unicorn_loss import TASK_ID_MOT, TASK_ID_SOT, unicorn_loss

__all__ = [
    "Assignment",
    "TASK_ID_MOT",
    "TASK_ID_SOT",
    "detection_loss",
    "dice_loss",
    "iou_loss",
    "mot_correspondence_loss",
    "simota_assign",
    "sot_correspondence_loss",
    "unicorn_loss",
]
