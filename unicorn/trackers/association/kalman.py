"""Constant-velocity Kalman filter over (cx, cy, aspect, h), as used by SORT/DeepSORT/ByteTrack.

State (8,): ``cx, cy, a, h, vcx, vcy, va, vh`` where ``a = w / h``. Process and measurement
noise scale with the box height; the weights (1/20 for positions, 1/160 for velocities) are the
ones ByteTrack uses, so tracks behave like upstream Unicorn's ByteTrack path.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

# 0.95 quantile of the chi-square distribution with k degrees of freedom, for gating.
CHI2_INV_95 = {
    1: 3.8415, 2: 5.9915, 3: 7.8147, 4: 9.4877, 5: 11.070, 6: 12.592, 7: 14.067, 8: 15.507, 9: 16.919,
}


def xyxy_to_xyah(boxes_xyxy: np.ndarray) -> np.ndarray:
    """Convert (..., 4) x1 y1 x2 y2 boxes to (..., 4) cx cy aspect(w/h) h."""
    b = np.asarray(boxes_xyxy, dtype=np.float64)
    w, h = b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]
    return np.stack([b[..., 0] + w / 2, b[..., 1] + h / 2, w / h, h], axis=-1)


def xyah_to_xyxy(xyah: np.ndarray) -> np.ndarray:
    """Convert (..., 4) cx cy aspect h to (..., 4) x1 y1 x2 y2."""
    s = np.asarray(xyah, dtype=np.float64)
    w, h = s[..., 2] * s[..., 3], s[..., 3]
    return np.stack([s[..., 0] - w / 2, s[..., 1] - h / 2, s[..., 0] + w / 2, s[..., 1] + h / 2], axis=-1)


class KalmanFilterXYAH:
    """Kalman filter with a constant-velocity motion model in (cx, cy, a, h) space.

    Args:
        std_weight_position: position noise as a fraction of the box height.
        std_weight_velocity: velocity noise as a fraction of the box height.
    """

    ndim = 4

    def __init__(self, std_weight_position: float = 1.0 / 20, std_weight_velocity: float = 1.0 / 160) -> None:
        self.std_weight_position = std_weight_position
        self.std_weight_velocity = std_weight_velocity
        dt = 1.0
        self.motion_mat = np.eye(2 * self.ndim)
        self.motion_mat[: self.ndim, self.ndim :] = dt * np.eye(self.ndim)
        self.update_mat = np.eye(self.ndim, 2 * self.ndim)

    def _pos_std(self, h: np.ndarray, aspect_std: float) -> np.ndarray:
        wp = self.std_weight_position
        return np.stack([wp * h, wp * h, np.full_like(h, aspect_std), wp * h], axis=-1)

    def _vel_std(self, h: np.ndarray) -> np.ndarray:
        wv = self.std_weight_velocity
        return np.stack([wv * h, wv * h, np.full_like(h, 1e-5), wv * h], axis=-1)

    def initiate(self, measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Start a track from an unassociated measurement.

        Args:
            measurement: (4,) cx, cy, a, h.

        Returns:
            mean (8,) with zero velocity and covariance (8, 8).
        """
        z = np.asarray(measurement, dtype=np.float64)
        mean = np.concatenate([z, np.zeros(self.ndim)])
        p, v = 2 * self.std_weight_position * z[3], 10 * self.std_weight_velocity * z[3]
        std = np.array([p, p, 1e-2, p, v, v, 1e-5, v])
        return mean, np.diag(np.square(std))

    def predict(self, mean: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run the prediction step for one or many tracks.

        Args:
            mean: (8,) or (N, 8) state means.
            covariance: (8, 8) or (N, 8, 8) state covariances.

        Returns:
            Predicted mean and covariance with the input shapes.
        """
        mean = np.asarray(mean, dtype=np.float64)
        single = mean.ndim == 1
        m = mean[None] if single else mean
        p = np.asarray(covariance, dtype=np.float64)
        p = p[None] if single else p
        h = m[:, 3]
        std = np.concatenate([self._pos_std(h, 1e-2), self._vel_std(h)], axis=1)  # (N, 8)
        motion_cov = np.zeros_like(p)
        idx = np.arange(2 * self.ndim)
        motion_cov[:, idx, idx] = np.square(std)
        f = self.motion_mat
        m = m @ f.T
        p = f @ p @ f.T + motion_cov
        return (m[0], p[0]) if single else (m, p)

    def project(self, mean: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project a state (8,), (8, 8) into measurement space: mean (4,), covariance (4, 4)."""
        std = self._pos_std(np.asarray(mean[3]), 1e-1)
        h = self.update_mat
        return h @ mean, h @ covariance @ h.T + np.diag(np.square(std))

    def update(
        self, mean: np.ndarray, covariance: np.ndarray, measurement: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run the correction step.

        Args:
            mean: (8,) predicted state mean.
            covariance: (8, 8) predicted state covariance.
            measurement: (4,) cx, cy, a, h.

        Returns:
            Corrected mean (8,) and covariance (8, 8).
        """
        proj_mean, proj_cov = self.project(mean, covariance)
        chol = scipy.linalg.cho_factor(proj_cov, lower=True, check_finite=False)
        # K = P H^T S^-1, solved as S K^T = H P^T
        gain = scipy.linalg.cho_solve(chol, (covariance @ self.update_mat.T).T, check_finite=False).T
        innovation = np.asarray(measurement, dtype=np.float64) - proj_mean
        new_mean = mean + innovation @ gain.T
        new_cov = covariance - gain @ proj_cov @ gain.T
        return new_mean, new_cov

    def gating_distance(
        self,
        mean: np.ndarray,
        covariance: np.ndarray,
        measurements: np.ndarray,
        only_position: bool = False,
        metric: str = "maha",
    ) -> np.ndarray:
        """Distance between a state and measurements, for gating with ``CHI2_INV_95``.

        Args:
            mean: (8,) state mean.
            covariance: (8, 8) state covariance.
            measurements: (M, 4) cx, cy, a, h.
            only_position: use only cx, cy (2 degrees of freedom).
            metric: "maha" (squared Mahalanobis) or "gaussian" (squared Euclidean).

        Returns:
            (M,) squared distances.
        """
        proj_mean, proj_cov = self.project(mean, covariance)
        z = np.asarray(measurements, dtype=np.float64).reshape(-1, 4)
        if only_position:
            proj_mean, proj_cov, z = proj_mean[:2], proj_cov[:2, :2], z[:, :2]
        d = z - proj_mean
        if metric == "gaussian":
            return np.sum(d * d, axis=1)
        if metric != "maha":
            raise ValueError(f"metric must be 'maha' or 'gaussian'; got {metric!r}")
        chol = np.linalg.cholesky(proj_cov)
        solved = scipy.linalg.solve_triangular(chol, d.T, lower=True, check_finite=False)
        return np.sum(solved * solved, axis=0)
