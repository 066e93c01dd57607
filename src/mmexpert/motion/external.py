"""Plug-in interface for an external text-to-motion model (e.g. a GPU model such as
MoMask or T2M-GPT run by the user).

Two transports, both returning joint positions ``[T, 22, 3]`` in metres:

* **Command**: ``ExternalMotionModel(command=["python", "t2m.py", "{text}", "{out}"])``
  runs the program (no shell, so the text is passed verbatim as one argument); it must
  write a ``.npy`` array to the path given for ``{out}``. ``{duration}`` is replaced by
  the requested duration [s] when present.
* **HTTP**: ``ExternalMotionModel(url="http://127.0.0.1:8000/generate")`` POSTs
  ``{"text": ..., "duration_s": ...}`` as JSON and accepts either a JSON reply
  ``{"joints": [[[x, y, z], ...], ...], "fps": 20.0}`` or a raw ``.npy`` body
  (``Content-Type: application/octet-stream``).

``joint_frame="humanml3d"`` (the default) means Y-up HumanML3D ``new_joints`` at
``fps``; ``"world"`` means already in our z-up frame. The result is validated (shape,
finite values, a plausible body size) into a :class:`~mmexpert.motion.Motion`.
"""

from __future__ import annotations

import io
import json
import subprocess
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from mmexpert.motion.importers import HUMANML3D_FPS, ground, load_humanml3d
from mmexpert.motion.motion import Motion
from mmexpert.motion.skeleton import JOINT_INDEX, NUM_JOINTS


class ExternalModelError(RuntimeError):
    """The external model failed, timed out or returned something that is not joints."""


@dataclass(frozen=True)
class ExternalMotionModel:
    """A text-to-motion model outside this package, reached by a command or over HTTP."""

    command: tuple[str, ...] | None = None  # argv template with {text}, {out}, {duration}
    url: str | None = None  # HTTP endpoint accepting a JSON POST
    fps: float = HUMANML3D_FPS  # frame rate of the returned joints [Hz]
    joint_frame: Literal["humanml3d", "world"] = "humanml3d"  # Y-up HumanML3D or z-up world
    timeout_s: float = 600.0  # give up after this long [s]

    def __post_init__(self) -> None:
        if (self.command is None) == (self.url is None):
            raise ExternalModelError("give exactly one of command=... or url=...")
        if self.command is not None:
            object.__setattr__(self, "command", tuple(self.command))
            if not any("{out}" in part for part in self.command):
                raise ExternalModelError("the command template must contain '{out}'")
        if self.joint_frame not in ("humanml3d", "world"):
            raise ExternalModelError(
                f"joint_frame must be 'humanml3d' or 'world', got {self.joint_frame!r}"
            )

    def generate(self, text: str, duration_s: float = 4.0) -> Motion:
        """Ask the model for a motion described by ``text``.

        Parameters
        ----------
        text
            Motion description, e.g. "a person waves with the left hand".
        duration_s
            Requested duration [s] (models may ignore it).

        Returns
        -------
        Motion
            Joints float64 [T, 22, 3] [m] in our world frame, feet on the floor.
        """
        if not text.strip():
            raise ExternalModelError("the motion description is empty")
        if self.command is not None:
            payload, fps = self._run_command(text, duration_s), self.fps
        else:
            payload, fps = self._post(text, duration_s)
        return self._to_motion(payload, fps)

    def _run_command(self, text: str, duration_s: float) -> np.ndarray:
        with tempfile.TemporaryDirectory(prefix="mmexpert-t2m-") as folder:
            out = Path(folder) / "motion.npy"
            values = {"text": text, "out": str(out), "duration": f"{duration_s:g}"}
            argv = [part.format(**values) for part in self.command or ()]
            try:
                result = subprocess.run(
                    argv, capture_output=True, text=True, timeout=self.timeout_s, check=False
                )
            except FileNotFoundError as error:
                raise ExternalModelError(f"cannot start {argv[0]!r}: {error}") from error
            except subprocess.TimeoutExpired as error:
                raise ExternalModelError(
                    f"{argv[0]!r} took longer than {self.timeout_s} s"
                ) from error
            if result.returncode != 0:
                raise ExternalModelError(
                    f"{argv[0]!r} exited with status {result.returncode}: "
                    f"{result.stderr.strip()[-500:]}"
                )
            if not out.is_file():
                raise ExternalModelError(f"{argv[0]!r} succeeded but wrote no file at {{out}}")
            try:
                return np.load(out, allow_pickle=False)
            except Exception as error:
                raise ExternalModelError(
                    f"the model's output is not a .npy array: {error}"
                ) from error

    def _post(self, text: str, duration_s: float) -> tuple[np.ndarray, float]:
        body = json.dumps({"text": text, "duration_s": duration_s}).encode()
        request = urllib.request.Request(
            self.url or "",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                content_type = response.headers.get("Content-Type", "")
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise ExternalModelError(
                f"{self.url} answered HTTP {error.code}: {error.reason}"
            ) from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise ExternalModelError(f"cannot reach {self.url}: {error}") from error
        if "json" in content_type:
            try:
                reply = json.loads(raw)
                return np.asarray(reply["joints"], dtype=np.float64), float(
                    reply.get("fps", self.fps)
                )
            except (ValueError, KeyError, TypeError) as error:
                raise ExternalModelError(
                    f"{self.url} returned JSON without a numeric 'joints' array: {error}"
                ) from error
        try:
            return np.load(io.BytesIO(raw), allow_pickle=False), self.fps
        except Exception as error:
            raise ExternalModelError(
                f"{self.url} returned neither JSON nor a .npy body ({content_type!r})"
            ) from error

    def _to_motion(self, joints: np.ndarray, fps: float) -> Motion:
        joints = np.asarray(joints, dtype=np.float64)
        if joints.ndim != 3 or joints.shape[1:] != (NUM_JOINTS, 3) or joints.shape[0] < 2:
            raise ExternalModelError(f"expected joints of shape [T>=2, 22, 3], got {joints.shape}")
        if not np.all(np.isfinite(joints)):
            raise ExternalModelError("the model returned NaN or infinite joint positions")
        motion = (
            load_humanml3d(joints, fps)
            if self.joint_frame == "humanml3d"
            else Motion(ground(joints), fps)
        )
        # pelvis-to-head distance is ~0.35 H whatever the posture: 0.15-1.0 m for people
        trunk = motion.joints_m[:, JOINT_INDEX["head"]] - motion.joints_m[:, JOINT_INDEX["pelvis"]]
        trunk_m = float(np.median(np.linalg.norm(trunk, axis=-1)))
        if not 0.15 <= trunk_m <= 1.0:
            raise ExternalModelError(
                f"pelvis-to-head distance {trunk_m:.3f} m is not a person in metres "
                "(wrong units or joint order?)"
            )
        return motion
