"""Which parameters train, and which normalisation layers keep their statistics frozen."""

from __future__ import annotations

from fnmatch import fnmatchcase

from torch import nn

from ..errors import UserError
from .trainer import HookBase

_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)


def apply_freeze(model: nn.Module, freeze: tuple[str, ...] = (), train_only: tuple[str, ...] = ()) -> list[str]:
    """Set ``requires_grad`` from glob patterns over parameter names.

    Args:
        model: the (unwrapped) model.
        freeze: parameters matching any of these are frozen.
        train_only: if not empty, parameters matching none of these are frozen too
            (the mask stage: ``("head.controllers.*", "mask_branch.*")``).

    Returns:
        Names of the trainable parameters.

    Raises:
        UserError: a pattern matches no parameter, or nothing is left to train.
    """
    names = [n for n, _ in model.named_parameters()]
    for pattern in (*freeze, *train_only):
        if not any(fnmatchcase(n, pattern) for n in names):
            tops = sorted({n.split(".")[0] for n in names})
            raise UserError(f"freeze pattern {pattern!r} matches no parameter; names start with {', '.join(tops)} "
                            "(e.g. 'backbone.*', 'head.controllers.*')")
    trainable = []
    for name, p in model.named_parameters():
        keep = not any(fnmatchcase(name, pat) for pat in freeze)
        if train_only:
            keep = keep and any(fnmatchcase(name, pat) for pat in train_only)
        p.requires_grad_(keep)
        if keep:
            trainable.append(name)
    if not trainable:
        raise UserError(f"freeze={list(freeze)} and train_only={list(train_only)} leave no parameter to train")
    return trainable


def set_norm_modes(model: nn.Module, frozen_bn: bool = False) -> int:
    """Put normalisation layers in eval mode when their parameters are frozen (or all BatchNorms if asked).

    Upstream stage 2 keeps the frozen backbone and head norms in eval mode so their running
    statistics do not drift. Call after ``model.train()``.

    Returns:
        The number of layers switched to eval mode.
    """
    n = 0
    for m in model.modules():
        if not isinstance(m, _NORMS):
            continue
        params = list(m.parameters(recurse=False))
        frozen = bool(params) and not any(p.requires_grad for p in params)
        is_bn = isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d)
        if frozen or (frozen_bn and is_bn):
            m.eval()
            n += 1
    return n


class NormModeHook(HookBase):
    """Applies :func:`set_norm_modes` once the trainer has put the model in train mode."""

    def __init__(self, model: nn.Module, frozen_bn: bool) -> None:
        self.model = model
        self.frozen_bn = frozen_bn

    def before_train(self) -> None:
        set_norm_modes(self.model, self.frozen_bn)


__all__ = ["NormModeHook", "apply_freeze", "set_norm_modes"]
