"""Animated GIF of a simulated person: skeleton and scatterers beside the micro-Doppler."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.animation import FuncAnimation, PillowWriter

from mmexpert.data.products import SimulationProducts
from mmexpert.motion.skeleton import PARENTS


def render_person(products: SimulationProducts, out: str | Path, fps: float = 15.0) -> Path:
    """Write a GIF: 3-D skeleton with visible (red) and hidden (grey) scatterers on the
    left, the micro-Doppler with a moving time cursor on the right.

    Parameters
    ----------
    products
        From :func:`mmexpert.data.simulation.simulate_person` (needs the ``joints``,
        ``joint_times``, ``scatterer_positions`` and ``scatterer_visible`` extras).
    out
        GIF path.
    fps
        Animation frame rate [Hz]; the clip is sub-sampled to it.
    """
    extras = products.extras
    joints, times = extras["joints"], extras["joint_times"]
    scatter, visible = extras["scatterer_positions"], extras["scatterer_visible"]
    step = max(1, round((len(times) - 1) / max(times[-1] - times[0], 1e-9) / fps))
    frames = np.arange(0, len(times), step)
    radar_xyz = np.asarray(products.config.pose.position_m)

    fig = plt.figure(figsize=(12, 4.8))
    fig.subplots_adjust(wspace=0.3)
    ax3d = fig.add_subplot(1, 2, 1, projection="3d")
    ax_md = fig.add_subplot(1, 2, 2)
    md = products.maps_db["micro_doppler"]
    vel, t_axis = products.axes["velocity_axis"], products.axes["time_axis"]
    top = float(md.max())
    ax_md.imshow(
        md,
        origin="lower",
        aspect="auto",
        cmap="viridis",
        vmin=top - 40,
        vmax=top,
        extent=(t_axis[0], t_axis[-1] if len(t_axis) > 1 else 1.0, vel[0], vel[-1]),
    )
    ax_md.set_xlabel("time [s]")
    ax_md.set_ylabel("radial velocity [m/s] (+ away)")
    ax_md.set_title("micro-Doppler")
    cursor = ax_md.axvline(times[0], color="w", lw=1.5)

    lo = np.minimum(joints.reshape(-1, 3).min(0), radar_xyz) - 0.3
    hi = np.maximum(joints.reshape(-1, 3).max(0), radar_xyz) + 0.3
    lo[0], hi[0] = min(lo[0], -1.5), max(hi[0], 1.5)  # at least a 3 m wide room
    bones = [(j, p) for j, p in enumerate(PARENTS) if p >= 0]

    def draw(index: int):
        ax3d.cla()
        ax3d.set_xlim(lo[0], hi[0])
        ax3d.set_ylim(lo[1], hi[1])
        ax3d.set_zlim(0, max(hi[2], 2.0))
        ax3d.set_box_aspect((hi[0] - lo[0], hi[1] - lo[1], max(hi[2], 2.0)))  # metres to scale
        ax3d.set_xlabel("x [m]")
        ax3d.set_ylabel("y [m]")
        ax3d.set_zlabel("z [m]")
        shown, hidden = visible[index], ~visible[index]
        pts = scatter[index]
        ax3d.scatter(*pts[hidden].T, s=1, c="0.75", depthshade=False)
        ax3d.scatter(*pts[shown].T, s=3, c="tab:red", depthshade=False)
        for j, p in bones:
            ax3d.plot(*np.stack([joints[index, j], joints[index, p]]).T, c="k", lw=1.5)
        ax3d.scatter(*radar_xyz, marker="^", s=80, c="tab:blue")
        ax3d.set_title(f"t = {times[index]:.2f} s  ({shown.mean():.0%} of patches visible)")
        cursor.set_xdata([times[index], times[index]])
        return ()

    animation = FuncAnimation(fig, draw, frames=frames, blit=False)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    animation.save(out, writer=PillowWriter(fps=fps))
    plt.close(fig)
    return out
