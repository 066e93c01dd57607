"""The flywheel report: ``DIR/report.md`` with accuracy curves, confusion matrices, revisions.

Rewritten after every round from the saved states, so it always shows what is on disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmexpert.flywheel.state import STATE_NAME, FlywheelIndex, RoundState, read_json_model

ACCURACY_PLOT = "accuracy_per_round.png"


def load_states(out: Path, index: FlywheelIndex) -> list[RoundState]:
    """The saved round states listed in the index, in order."""
    states = []
    for summary in index.rounds:
        path = out / f"round_{summary.round:02d}" / STATE_NAME
        if path.is_file():
            states.append(read_json_model(path, RoundState))
    return states


def plot_accuracy(states: list[RoundState], path: Path) -> Path | None:
    """Accuracy per round: synthetic validation and real (if any), with per-class curves.

    Returns
    -------
    Path or None
        The written PNG, or None before the first evaluation.
    """
    evaluated = [s for s in states if s.synthetic is not None]
    if not evaluated:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rounds = [s.round for s in evaluated]
    has_real = any(s.real is not None for s in evaluated)
    figure, axes = plt.subplots(
        1, 3 if has_real else 2, figsize=(15 if has_real else 10.5, 4), constrained_layout=True
    )
    overall = axes[0]
    overall.plot(
        rounds, [s.synthetic.accuracy for s in evaluated], "o-", label="synthetic validation"
    )
    overall.plot(
        rounds, [s.synthetic.macro_f1 for s in evaluated], "s--", label="synthetic macro-F1"
    )
    if has_real:
        real_rounds = [s.round for s in evaluated if s.real is not None]
        overall.plot(
            real_rounds, [s.real.accuracy for s in evaluated if s.real], "^-", label="real"
        )
    overall.set_title("accuracy per round")
    panels: list[tuple[Any, str, str]] = [(axes[1], "synthetic", "per class (synthetic)")]
    if has_real:
        panels.append((axes[2], "real", "per class (real)"))
    for ax, which, title in panels:
        classes = sorted(
            {name for s in evaluated if getattr(s, which) for name in getattr(s, which).per_class}
        )
        for name in classes:
            points = [
                (s.round, getattr(s, which).per_class[name])
                for s in evaluated
                if getattr(s, which) and name in getattr(s, which).per_class
            ]
            ax.plot([p[0] for p in points], [p[1] for p in points], "o-", label=name)
        ax.set_title(title)
    for ax in axes:
        ax.set_xlabel("round")
        ax.set_ylabel("accuracy")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xticks(rounds)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _confusion_png(state: RoundState, out: Path, which: str) -> Path | None:
    from mmexpert.eval.metrics import plot_confusion_matrix

    evaluation = getattr(state, which)
    if evaluation is None:
        return None
    path = out / f"confusion_{which}_round_{state.round:02d}.png"
    if path.is_file() and path.stat().st_mtime >= _state_time(out, state.round):
        return path  # a round's evaluation does not change once saved
    return plot_confusion_matrix(
        {
            "confusion": evaluation.confusion,
            "classes": evaluation.classes,
            "accuracy": evaluation.accuracy,
        },
        path,
        title=f"round {state.round}, {which}",
    )


def _state_time(out: Path, round_number: int) -> float:
    return (out / f"round_{round_number:02d}" / STATE_NAME).stat().st_mtime


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def write_report(out: str | Path, index: FlywheelIndex, config: Any) -> Path:
    """Write ``out/report.md`` and its PNGs from the saved states.

    Parameters
    ----------
    out
        The flywheel folder.
    index
        Its index.
    config
        The :class:`~mmexpert.flywheel.loop.FlywheelConfig` (shown at the top).

    Returns
    -------
    Path
        ``out/report.md``.
    """
    out = Path(out)
    states = load_states(out, index)
    plot = plot_accuracy(states, out / ACCURACY_PLOT)
    lines = [
        "# Flywheel report",
        "",
        f"Scenario: *{config.scenario}*  ",
        f"Radar `{config.radar}`, model `{config.model}` ({config.epochs} epochs per round, "
        f"{config.window_s:g} s windows), LLM `{config.llm}`, {config.count} new samples per "
        f"round, seed {config.seed}.  ",
        f"Classes: {', '.join(index.classes)}.  ",
        *(
            [f"Real windows scored with their features aligned ({config.adapt}), no labels.  "]
            if config.adapt != "none"
            else []
        ),
        f"Stop rule: target {config.target:.2f}, patience {config.patience}, at most "
        f"{config.rounds} rounds. "
        + (
            f"**Stopped: {index.stop_reason}.**" if index.stop_reason else "Running or interrupted."
        ),
        "",
        "| round | new samples | trained on | synthetic val acc | macro-F1 | real acc | "
        "generate [s] | train [s] | revisions (code / LLM) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for state in states:
        code = sum(r.source == "code" for r in state.revisions + state.llm_revisions)
        llm = sum(r.source == "llm" for r in state.revisions + state.llm_revisions)
        lines.append(
            f"| {state.round} | {len(state.sample_ids)} | {state.train_ids} | "
            f"{_percent(state.synthetic.accuracy if state.synthetic else None)} | "
            f"{_percent(state.synthetic.macro_f1 if state.synthetic else None)} | "
            f"{_percent(state.real.accuracy if state.real else None)} | "
            f"{state.timings_s.get('generate', 0):.0f} | {state.timings_s.get('train', 0):.0f} | "
            f"{code} / {llm} |"
        )
    if plot is not None:
        lines += ["", f"![accuracy per round]({plot.name})"]
    for state in states:
        lines += ["", f"## Round {state.round}", ""]
        if state.llm_report:
            report = state.llm_report
            lines.append(
                f"LLM ({report.get('stage')}): "
                + ", ".join(
                    f"{key} {value}"
                    for key, value in report.items()
                    if key not in ("stage", "examples", "failures", "llm_failures")
                )
            )
            for failure in (report.get("failures") or report.get("llm_failures") or [])[:3]:
                lines.append(f"- LLM failure: `{' '.join(str(failure).split())[:160]}`")
            for example in (report.get("examples") or [])[:3]:
                lines.append(f"- kept description: *{example}*")
            lines.append("")
        for revision in state.llm_revisions:
            lines.append(f"- [{revision.source}] {revision.activity}: {revision.detail}")
        if state.synthetic is not None:
            per_class = ", ".join(
                f"{name} {_percent(value)}" for name, value in state.synthetic.per_class.items()
            )
            lines.append(f"\nSynthetic validation ({state.synthetic.count} samples): {per_class}.")
            png = _confusion_png(state, out, "synthetic")
            lines += ["", f"![confusion round {state.round}]({png.name})"]
        if state.real is not None:
            per_class = ", ".join(
                f"{name} {_percent(value)}" for name, value in state.real.per_class.items()
            )
            lines.append(f"\nReal ({state.real.count} windows): {per_class}.")
            png = _confusion_png(state, out, "real")
            lines += ["", f"![real confusion round {state.round}]({png.name})"]
        if state.real_error:
            lines.append(f"\nReal data: {state.real_error}")
        if state.analysis is not None:
            if state.analysis.confused:
                lines.append(
                    "\nMost confused: "
                    + ", ".join(
                        f"{p.true} -> {p.predicted} ({p.count}, {p.rate:.0%})"
                        for p in state.analysis.confused
                    )
                )
            for wrong in state.analysis.misclassified[:4]:
                lines.append(
                    f"- misclassified {wrong.activity} as {wrong.predicted}: *{wrong.caption}* "
                    f"`{wrong.program[:140]}`"
                )
        if state.revisions:
            lines += ["", "Revisions for the next round:"]
            lines += [f"- [{r.source}] {r.kind} {r.activity}: {r.detail}" for r in state.revisions]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
