"""The flywheel loop: plan -> generate -> train -> evaluate -> analyse -> revise -> plan'.

Layout of the output folder ``DIR``::

    flywheel.json              index: configuration, classes, one line per round, stop reason
    llm_cache.sqlite           every LLM reply (a rerun replays them: same plans)
    validation/plan.json       the fixed validation plan (own seed, never trained on)
    validation/store/          its dataset store
    train_store/               one store holding every round's samples (the union)
    round_XX/plan.json         the round's sample specs and per-class settings
    round_XX/state.json        phases done, generation, training, metrics, analysis, revisions
    round_XX/train/            checkpoint and model/ of the round
    report.md, *.png           the report (rewritten after every round)

Resume: rerunning the same command skips finished rounds and continues a half-done one at
its first unfinished phase. Generation skips stored samples (the store adopts finished but
unrecorded files), training resumes from its last epoch checkpoint, and the LLM replies come
from the cache, so the final state equals that of an uninterrupted run.

Stop rule (checked after every evaluation, on the synthetic validation accuracy): the target
is reached, or the best accuracy is ``patience`` or more rounds old, or ``rounds`` rounds
ran. The real-data accuracy (``--validate-real``) is measured and reported every round but
drives nothing, so it stays an untouched held-out measurement.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmexpert.flywheel.describe import DescriptionReport, describe
from mmexpert.flywheel.revise import analyse, revise_settings
from mmexpert.flywheel.sampling import draw_specs, uniform_settings
from mmexpert.flywheel.state import (
    INDEX_NAME,
    PLAN_NAME,
    STATE_NAME,
    ClassPlan,
    Evaluation,
    FlywheelError,
    FlywheelIndex,
    Revision,
    RoundState,
    RoundSummary,
    read_json_model,
    write_json_atomic,
)
from mmexpert.plan import SampleSpec

VALIDATION_NAMESPACE = 1_000_003  # seed namespace of the validation draws
PhaseHook = Callable[[int, str], None]


@dataclass(frozen=True)
class FlywheelConfig:
    """One flywheel run.

    Attributes
    ----------
    scenario
        The application in a sentence or two (planned by :func:`mmexpert.plan.make_plan`).
    rounds
        Most rounds.
    count
        New training samples per round.
    radar
        Radar preset name or TI ``.cfg`` path.
    model
        Model registry name (:func:`mmexpert.models.registry.list_models`).
    epochs
        Training epochs per round (each round trains from scratch on all samples so far).
    llm
        LLM backend name (:func:`mmexpert.llm.list_backends`).
    target
        Stop once the synthetic validation accuracy reaches this (0-1).
    patience
        Stop after this many rounds without a better synthetic validation accuracy.
    seed
        Seeds the plans, the validation set and training.
    val_count
        Validation samples (None: ``max(3 x classes, count)``).
    validate_real
        ``"READER:DIR"`` of labelled real recordings, or None.
    real_classes
        Class mapping for the real data (``"folder=activity,..."``), or None.
    adapt
        Label-free test-time feature alignment of the real windows
        (:data:`mmexpert.models.adapt.ADAPT_METHODS`; the synthetic validation set, which
        the revisions read, is scored as it is).
    window_s
        Model time window [s] (2 s, as the real-data windows).
    clip_s
        Simulate only the first ``clip_s`` seconds of each program (None: all of it);
        shorter clips simulate faster.
    batch_size
        Training batch size.
    paraphrases
        LLM paraphrases per sample in round 0 (the planner's) and LLM descriptions per
        sample of weak classes later.
    describe_per_class
        Samples per weak/confused class that get LLM descriptions each round.
    encoder
        Sentence encoder of the planner and the paraphrase filter ("minilm" or "ngram").
    workers, executor
        How samples are simulated (see :func:`mmexpert.data.engine.generate`).
    """

    scenario: str
    rounds: int = 3
    count: int = 20
    radar: str = "iwr1443-radhar"
    model: str = "classifier-cnn-tiny"  # with real data: a points model (real has no maps)
    epochs: int = 150  # the tiny models need many passes over a few samples
    llm: str = "local"
    target: float = 0.95
    patience: int = 2
    seed: int = 0
    val_count: int | None = None
    validate_real: str | None = None
    real_classes: str | None = None
    adapt: str = "none"
    window_s: float = 2.0
    clip_s: float | None = None
    batch_size: int = 16
    paraphrases: int = 2
    describe_per_class: int = 3
    encoder: str = "minilm"
    workers: int = 1
    executor: str = "process"

    STOPPING_FIELDS = ("rounds", "target", "patience", "workers", "executor")

    def identity(self) -> dict[str, Any]:
        """Fields that must match to resume a run (the stop rule and executor may change)."""
        data = dataclasses.asdict(self)
        for name in self.STOPPING_FIELDS:
            data.pop(name)
        if data["adapt"] == "none":  # runs saved before the field existed resume unchanged
            data.pop("adapt")
        return data

    def check(self) -> None:
        """Raise :class:`FlywheelError` naming the first bad field."""
        if not self.scenario.strip():
            raise FlywheelError("the scenario is empty")
        if self.rounds < 1:
            raise FlywheelError(f"rounds must be >= 1, got {self.rounds}")
        if self.count < 1:
            raise FlywheelError(f"count must be >= 1, got {self.count}")
        if self.epochs < 1:
            raise FlywheelError(f"epochs must be >= 1, got {self.epochs}")
        if not 0.0 < self.target <= 1.0:
            raise FlywheelError(f"target must be an accuracy in (0, 1], got {self.target}")
        if self.patience < 1:
            raise FlywheelError(f"patience must be >= 1, got {self.patience}")
        if self.val_count is not None and self.val_count < 2:
            raise FlywheelError(f"val_count must be >= 2, got {self.val_count}")
        if self.clip_s is not None and self.clip_s <= 0:
            raise FlywheelError(f"clip_s must be positive, got {self.clip_s}")
        if self.window_s <= 0:
            raise FlywheelError(f"window_s must be positive, got {self.window_s}")
        if self.validate_real is not None and ":" not in self.validate_real:
            raise FlywheelError(
                f"validate_real must read READER:DIR (e.g. radhar:data/radhar), got "
                f"{self.validate_real!r}"
            )
        class_map(self.real_classes)
        from mmexpert.models.adapt import ADAPT_METHODS

        if self.adapt not in ADAPT_METHODS:
            raise FlywheelError(f"adapt must be one of {ADAPT_METHODS}, got {self.adapt!r}")
        if self.adapt != "none" and self.validate_real is None:
            raise FlywheelError("adapt aligns the real windows: it needs validate_real")


def class_map(text: str | None) -> dict[str, str] | None:
    """``"jack=jumping jacks,squats"`` -> ``{"jack": "jumping jacks", "squats": "squats"}``.

    Raises
    ------
    FlywheelError
        For an empty entry or side, or a folder named twice.
    """
    from mmexpert.eval.real import RealDataError, parse_class_map

    try:
        return parse_class_map(text)
    except RealDataError as error:
        raise FlywheelError(str(error)) from None


def round_dir(out: Path, index: int) -> Path:
    """``out/round_XX``."""
    return out / f"round_{index:02d}"


def stop_decision(accuracies: list[float], rounds: int, target: float, patience: int) -> str | None:
    """Why the loop stops after the last of ``accuracies`` (None: go on).

    Parameters
    ----------
    accuracies
        Synthetic validation accuracy of each round so far, in order (0-1).
    rounds, target, patience
        See :class:`FlywheelConfig`.
    """
    if not accuracies:
        return None
    last = len(accuracies) - 1
    if accuracies[-1] >= target:
        return f"target reached: accuracy {accuracies[-1]:.3f} >= {target:.3f} in round {last}"
    best = int(np.argmax(accuracies))  # first round with the best value
    if last - best >= patience:
        return (
            f"no improvement for {last - best} rounds (best {accuracies[best]:.3f} in round "
            f"{best}, patience {patience})"
        )
    if len(accuracies) >= rounds:
        return f"{rounds} rounds done"
    return None


def _program_text(program: Any) -> str:
    if not isinstance(program, dict):
        return str(program)[:200]
    parts = []
    for segment in program.get("segments", []):
        parameters = ", ".join(f"{k}={v}" for k, v in (segment.get("parameters") or {}).items())
        parts.append(f"{segment.get('primitive')}({parameters}) {segment.get('duration_s')} s")
    subject = program.get("subject") or {}
    who = ", ".join(str(subject[k]) for k in ("age_group", "build", "height_m") if k in subject)
    return "; ".join(parts) + (f" [{who}]" if who else "")


class Flywheel:
    """One flywheel run in its output folder (see the module docstring).

    Parameters
    ----------
    config
        The run.
    out
        Output folder (created or resumed).
    progress
        Progress bars and per-phase lines on the console.
    log
        Called with one line per event (default: print).
    after_phase
        Called as ``after_phase(round, phase)`` after each phase is saved (a test hook: an
        exception raised there interrupts the run like a crash).
    backend
        An LLM backend to use instead of ``make_backend(config.llm)`` (e.g. a
        :class:`~mmexpert.llm.ScriptedBackend`); it is wrapped in the run's response cache
        all the same.
    """

    def __init__(
        self,
        config: FlywheelConfig,
        out: str | Path,
        progress: bool = True,
        log: Callable[[str], None] = print,
        after_phase: PhaseHook | None = None,
        backend: Any = None,
    ) -> None:
        config.check()
        self.config = config
        self.out = Path(out)
        self.progress = progress
        self.log = log
        self.after_phase = after_phase
        self._given_backend = backend

    # -------------------------------------------------------------- shared resources

    @functools.cached_property
    def radar(self):
        from mmexpert.radar.presets import load_radar

        return load_radar(self.config.radar)

    @functools.cached_property
    def backend(self):
        from mmexpert.llm import CachedBackend, make_backend

        cache = self.out / "llm_cache.sqlite"
        if self._given_backend is not None:
            return CachedBackend(self._given_backend, cache)
        return make_backend(self.config.llm, cache=cache)

    @functools.cached_property
    def encoder(self):
        from mmexpert.plan import make_encoder

        return make_encoder(self.config.encoder)

    @property
    def window_frames(self) -> int:
        return max(1, round(self.config.window_s * self.radar.frame_rate_hz))

    @property
    def clip_frames(self) -> int | None:
        if self.config.clip_s is None:
            return None
        return max(1, round(self.config.clip_s * self.radar.frame_rate_hz))

    # -------------------------------------------------------------- persistence

    def _index(self) -> FlywheelIndex:
        path = self.out / INDEX_NAME
        if not path.is_file():
            return FlywheelIndex(config=self.config.identity())
        index = read_json_model(path, FlywheelIndex)
        saved, wanted = index.config, self.config.identity()
        changed = sorted(k for k in set(saved) | set(wanted) if saved.get(k) != wanted.get(k))
        if changed:
            details = ", ".join(f"{k}: {saved.get(k)!r} -> {wanted.get(k)!r}" for k in changed)
            raise FlywheelError(
                f"{self.out} holds a flywheel run with another configuration ({details}); "
                "rerun with the same options to resume, or use another --out folder"
            )
        return index

    def _state(self, index: int) -> RoundState:
        path = round_dir(self.out, index) / STATE_NAME
        if path.is_file():
            return read_json_model(path, RoundState)
        return RoundState(round=index)

    def _save(self, state: RoundState, phase: str | None, index: FlywheelIndex) -> None:
        if phase is not None and phase not in state.phases:
            state.phases.append(phase)  # type: ignore[arg-type]
        write_json_atomic(round_dir(self.out, state.round) / STATE_NAME, state)
        summaries = {s.round: s for s in index.rounds}
        counted = [s for r, s in summaries.items() if r < state.round]
        total = sum(s.samples_new for s in counted) + len(state.sample_ids)
        summaries[state.round] = RoundSummary(
            round=state.round,
            phases=list(state.phases),
            samples_new=len(state.sample_ids),
            samples_total=total,
            synthetic_accuracy=state.synthetic.accuracy if state.synthetic else None,
            real_accuracy=state.real.accuracy if state.real else None,
            revisions_code=sum(r.source == "code" for r in state.revisions + state.llm_revisions),
            revisions_llm=sum(r.source == "llm" for r in state.revisions + state.llm_revisions),
        )
        index.rounds = [summaries[r] for r in sorted(summaries)]
        write_json_atomic(self.out / INDEX_NAME, index)
        if phase is not None and self.after_phase is not None:
            self.after_phase(state.round, phase)

    # -------------------------------------------------------------- the loop

    def run(self) -> FlywheelIndex:
        """Run (or resume) until the stop rule holds; returns the final index."""
        from mmexpert.flywheel.report import write_report

        self.out.mkdir(parents=True, exist_ok=True)
        index = self._index()
        index.stop_reason = None
        accuracies: list[float] = []
        for number in range(self.config.rounds):
            state = self._state(number)
            started = time.perf_counter()
            finished_before = list(state.phases)
            if not state.done("planned"):
                self._plan(state, index)
            if not state.done("generated") or (not state.done("trained") and self._missing(state)):
                self._generate(state, index)
            if not state.done("trained"):
                self._train(state, index)
            if not state.done("evaluated"):
                self._evaluate(state, index)
            assert state.synthetic is not None
            accuracies.append(state.synthetic.accuracy)
            reason = stop_decision(
                accuracies, self.config.rounds, self.config.target, self.config.patience
            )
            if reason is None and not state.done("revised"):
                self._revise(state, index)
            elapsed = time.perf_counter() - started
            self.log(
                f"round {number}: {len(state.sample_ids)} new samples ({state.train_ids} "
                f"trained on), synthetic val accuracy {state.synthetic.accuracy:.3f}"
                + (f", real accuracy {state.real.accuracy:.3f}" if state.real else "")
                + f" [{elapsed:.0f} s this call]"
            )
            if reason is not None:
                index.stop_reason = reason
                index.best_round = int(np.argmax(accuracies))
                write_json_atomic(self.out / INDEX_NAME, index)
            if reason is not None or state.phases != finished_before:
                write_report(self.out, index, self.config)
            if reason is not None:
                break
        self.log(f"stopped: {index.stop_reason}")
        return index

    # -------------------------------------------------------------- phases

    def _round_specs(self, index: int) -> list[SampleSpec]:
        from mmexpert.data.engine import load_specs

        return load_specs(round_dir(self.out, index) / PLAN_NAME)

    def _sample_ids(self, specs: list[SampleSpec]) -> list[str]:
        from mmexpert.data.samples import spec_sample_id

        options = {"num_frames": self.clip_frames, "keep_adc": False}
        return [spec_sample_id(spec, self.radar, options) for spec in specs]

    def _plan(self, state: RoundState, index: FlywheelIndex) -> None:
        started = time.perf_counter()
        folder = round_dir(self.out, state.round)
        if state.round == 0:
            specs = self._plan_first_round(state, index, folder)
        else:
            specs = self._plan_next_round(state, index, folder)
        state.sample_ids = list(dict.fromkeys(self._sample_ids(specs)))
        state.timings_s["plan"] = round(time.perf_counter() - started, 2)
        self.log(f"round {state.round}: planned {len(specs)} samples")
        self._save(state, "planned", index)

    def _plan_first_round(
        self, state: RoundState, index: FlywheelIndex, folder: Path
    ) -> list[SampleSpec]:
        from mmexpert.llm import LLMError, StructuredOutputError
        from mmexpert.plan import PlanError, make_plan, save_plan

        config = self.config
        try:
            plan = make_plan(
                config.scenario,
                config.count,
                self.backend,
                seed=config.seed,
                encoder=self.encoder,
                progress=self.progress,
                paraphrases=config.paraphrases,
            )
        except (PlanError, StructuredOutputError, LLMError) as error:
            raise FlywheelError(f"round 0 cannot be planned: {error}") from None
        classes = [entry.name for entry in plan.vocabulary.activities]
        if len(classes) < 2:
            raise FlywheelError(
                f"the scenario gives one activity ({classes}); a classifier needs two or more"
            )
        index.classes = classes
        index.base_weights = {s.name: s.weight for s in plan.strategies}
        index.population = plan.population
        save_plan(plan, folder / PLAN_NAME)
        counts = plan.report.counts_by_activity
        state.settings = [ClassPlan(activity=name, quota=counts.get(name, 0)) for name in classes]
        state.llm_report = {
            "stage": "plan (make_plan)",
            "backend": plan.report.backend,
            "llm_calls": plan.report.llm_calls,
            "llm_failures": plan.report.llm_failures[:10],
            "paraphrases_kept": plan.report.paraphrases_kept,
            "paraphrases_rejected": plan.report.paraphrases_rejected,
        }
        val_count = config.val_count or max(3 * len(classes), config.count)
        validation = draw_specs(
            uniform_settings(classes, val_count),
            index.base_weights,
            config.seed,
            VALIDATION_NAMESPACE,
            population=index.population,
            avoid_captions=[spec.captions[0] for spec in plan.samples],
        )
        write_json_atomic(
            self.out / "validation" / PLAN_NAME,
            {"samples": [spec.model_dump(mode="json") for spec in validation]},
        )
        return list(plan.samples)

    def _plan_next_round(
        self, state: RoundState, index: FlywheelIndex, folder: Path
    ) -> list[SampleSpec]:
        from mmexpert.data.engine import load_specs

        previous = self._state(state.round - 1)
        state.settings = [entry.model_copy(deep=True) for entry in previous.next_settings]
        used = [s.captions[0] for s in load_specs(self.out / "validation" / PLAN_NAME)]
        for earlier in range(state.round):
            used += [s.captions[0] for s in self._round_specs(earlier)]
        specs = draw_specs(
            state.settings,
            index.base_weights,
            self.config.seed,
            state.round,
            population=index.population,
            avoid_captions=used,
        )
        report = DescriptionReport()
        confused: dict[str, list[str]] = {e.activity: e.separate_from for e in state.settings}
        flagged = {e.activity for e in state.settings if e.llm_descriptions}
        described: dict[str, int] = {}
        count = max(1, self.config.paraphrases)
        for position, spec in enumerate(specs):
            if spec.activity not in flagged:
                continue
            if described.get(spec.activity, 0) >= self.config.describe_per_class:
                continue
            described[spec.activity] = described.get(spec.activity, 0) + 1
            specs[position] = describe(
                spec,
                self.backend,
                self.encoder,
                index.classes,
                count,
                report,
                confused_with=confused.get(spec.activity, []),
            )
        state.llm_report = {"stage": "describe", "backend": self.config.llm, **report.to_dict()}
        for name in sorted(flagged):
            kept = sum(
                len(s.captions) - 1 for s in specs if s.activity == name and len(s.captions) > 1
            )
            kind = "descriptions" if kept else "llm_fallback"
            detail = (
                f"{kept} new LLM descriptions kept by the paraphrase filter"
                if kept
                else "no LLM description passed the filter (or the LLM failed): canonical "
                "captions only"
            )
            source = "llm" if kept else "code"
            state.llm_revisions.append(
                Revision(source=source, kind=kind, activity=name, detail=detail)  # type: ignore[arg-type]
            )
        write_json_atomic(
            folder / PLAN_NAME,
            {
                "settings": [entry.model_dump(mode="json") for entry in state.settings],
                "samples": [spec.model_dump(mode="json") for spec in specs],
            },
        )
        return specs

    def _missing(self, state: RoundState) -> bool:
        """True when samples of the round (or the validation set) are not in their store."""
        from mmexpert.data.store import DatasetStore

        stores = [(self.out / "train_store", self._sample_ids(self._round_specs(state.round)))]
        if state.round == 0:
            validation = self._sample_ids(self._validation_specs())
            stores.append((self.out / "validation" / "store", validation))
        for path, ids in stores:
            if not path.is_dir():
                return True
            with DatasetStore.open(path) as store:
                if not all(store.has(sample_id) for sample_id in ids):
                    return True
        return False

    def _validation_specs(self) -> list[SampleSpec]:
        from mmexpert.data.engine import load_specs

        return load_specs(self.out / "validation" / PLAN_NAME)

    def _generate(self, state: RoundState, index: FlywheelIndex) -> None:
        from mmexpert.data.engine import EngineError, generate

        started = time.perf_counter()
        config = self.config
        try:
            if state.round == 0:
                validation = self._validation_specs()
                self.log(f"validation set: {len(validation)} samples (generated once)")
                report = generate(
                    validation,
                    self.radar,
                    self.out / "validation" / "store",
                    executor=config.executor,  # type: ignore[arg-type]
                    workers=config.workers,
                    progress=self.progress,
                    num_frames=self.clip_frames,
                )
                state.generation["validation"] = report.to_dict()
                index.validation_ids = self._sample_ids(validation)
                if report.failed:
                    raise FlywheelError(
                        f"{len(report.failed)} of {report.requested} validation samples failed "
                        f"to generate (first: {report.failed[0][2][:300]}); rerun to retry"
                    )
            specs = self._round_specs(state.round)
            report = generate(
                specs,
                self.radar,
                self.out / "train_store",
                executor=config.executor,  # type: ignore[arg-type]
                workers=config.workers,
                progress=self.progress,
                num_frames=self.clip_frames,
            )
        except EngineError as error:
            raise FlywheelError(f"round {state.round}: generation failed: {error}") from None
        state.generation["train"] = report.to_dict()
        # ids name the generator code too: taken now, from the code that generated them
        state.sample_ids = list(dict.fromkeys(self._sample_ids(specs)))
        if report.failed:
            first = report.failed[0][2].splitlines()[0] if report.failed[0][2] else "?"
            write_json_atomic(round_dir(self.out, state.round) / STATE_NAME, state)
            raise FlywheelError(
                f"round {state.round}: {len(report.failed)} of {report.requested} samples "
                f"failed to generate (first: {first[:300]}); the others are stored: rerun the "
                "same command to retry them"
            )
        state.timings_s["generate"] = round(
            state.timings_s.get("generate", 0.0) + time.perf_counter() - started, 2
        )
        self.log(f"round {state.round}: {report.summary().splitlines()[0]}")
        self._save(state, "generated", index)

    def _train(self, state: RoundState, index: FlywheelIndex) -> None:
        from mmexpert.data.store import DatasetStore
        from mmexpert.models.train import TrainConfig, TrainingError, train

        started = time.perf_counter()
        wanted: list[str] = []
        for earlier in range(state.round):
            wanted += self._state(earlier).sample_ids
        wanted += state.sample_ids
        split_name = f"flywheel_round_{state.round:02d}"
        with DatasetStore.open(self.out / "train_store", mode="a") as store:
            present = [sample_id for sample_id in dict.fromkeys(wanted) if store.has(sample_id)]
            store.save_split(split_name, {sample_id: "train" for sample_id in present})
        if not present:
            raise FlywheelError(
                f"round {state.round}: none of the {len(wanted)} planned samples is in "
                f"{self.out / 'train_store'}; rerun to generate them"
            )
        state.train_ids = len(present)
        config = TrainConfig(
            model=self.config.model,
            epochs=self.config.epochs,
            batch_size=self.config.batch_size,
            seed=self.config.seed,
            window_frames=self.window_frames,
            split="train",
            split_name=split_name,
            classes=tuple(index.classes),
        )
        try:
            result = train(
                config,
                self.out / "train_store",
                round_dir(self.out, state.round) / "train",
                progress=self.progress,
            )
        except TrainingError as error:
            raise FlywheelError(f"round {state.round}: training failed: {error}") from None
        state.training = {
            "model": self.config.model,
            "epochs": result.epochs_done,
            "resumed_from_epoch": result.resumed_from_epoch,
            "samples": len(present),
            "missing": len(wanted) - len(present),
            "final_loss": round(result.history[-1]["loss"], 4) if result.history else None,
            "window_frames": self.window_frames,
        }
        state.timings_s["train"] = round(
            state.timings_s.get("train", 0.0) + time.perf_counter() - started, 2
        )
        self._save(state, "trained", index)

    def _evaluate(self, state: RoundState, index: FlywheelIndex) -> None:
        from mmexpert.data.store import DatasetStore
        from mmexpert.eval.metrics import classification_report
        from mmexpert.models.inputs import load_raw_samples
        from mmexpert.models.io import load_model
        from mmexpert.models.predict import class_scores

        started = time.perf_counter()
        model_dir = round_dir(self.out, state.round) / "train" / "model"
        loaded = load_model(model_dir)
        with DatasetStore.open(self.out / "validation" / "store") as store:
            raws = load_raw_samples(store, index.validation_ids or None, loaded.inputs.views)
        names, scores = class_scores(loaded, raws, index.classes)
        position = {name: i for i, name in enumerate(names)}
        keep = [i for i, raw in enumerate(raws) if raw.get("activity") in position]
        truth = [position[raws[i]["activity"]] for i in keep]
        guess = [int(np.argmax(scores[i])) for i in keep]
        report = classification_report(truth, guess, names)
        state.synthetic = Evaluation(
            accuracy=report["accuracy"],
            macro_f1=report["macro_f1"],
            per_class=report["per_class_accuracy"],
            confusion=report["confusion"],
            classes=report["classes"],
            count=report["count"],
        )
        predictions = [
            (
                raws[i]["sample_id"],
                raws[i]["activity"],
                names[g],
                f"{(raws[i].get('captions') or [''])[0]} | "
                f"{_program_text(raws[i].get('motion_program'))}",
            )
            for i, g in zip(keep, guess, strict=True)
        ]
        state.analysis = analyse(state.synthetic, predictions)
        if self.config.validate_real:
            state.real, state.real_error = self._evaluate_real(model_dir)
        state.timings_s["evaluate"] = round(time.perf_counter() - started, 2)
        self._save(state, "evaluated", index)

    def _evaluate_real(self, model_dir: Path) -> tuple[Evaluation | None, str | None]:
        reader, _, data_dir = str(self.config.validate_real).partition(":")
        try:
            from mmexpert.eval.real import evaluate_real
        except ImportError as error:
            message = f"real-data evaluation unavailable (mmexpert.eval.real): {error}"
            self.log(f"warning: {message}")
            return None, message
        try:
            result = evaluate_real(
                model_dir,
                reader,
                data_dir,
                class_map(self.config.real_classes),
                window_s=self.config.window_s,
                train_data=self.out / "train_store",
                adapt=self.config.adapt,
            )
        except Exception as error:
            message = f"real-data evaluation failed: {type(error).__name__}: {error}"
            self.log(f"warning: {message}")
            return None, message[:500]
        confusion = np.asarray(result.confusion, dtype=np.int64)
        return (
            Evaluation(
                accuracy=float(result.accuracy),
                macro_f1=float(result.macro_f1),
                per_class={str(k): float(v) for k, v in result.per_class.items()},
                confusion=confusion.tolist(),
                classes=[str(name) for name in result.class_names],
                count=int(confusion.sum()),
            ),
            None,
        )

    def _revise(self, state: RoundState, index: FlywheelIndex) -> None:
        assert state.analysis is not None
        settings = state.settings or uniform_settings(index.classes, self.config.count)
        state.next_settings, revisions = revise_settings(
            settings, state.analysis, self.config.count
        )
        state.revisions = revisions
        for revision in revisions:
            self.log(f"  revise [{revision.source}] {revision.activity}: {revision.detail}")
        self._save(state, "revised", index)


def run_flywheel(
    config: FlywheelConfig,
    out: str | Path,
    progress: bool = True,
    log: Callable[[str], None] = print,
    after_phase: PhaseHook | None = None,
    backend: Any = None,
) -> FlywheelIndex:
    """Run or resume a flywheel in ``out`` (see :class:`Flywheel`).

    Returns
    -------
    FlywheelIndex
        Classes, one summary per round and the stop reason.

    Raises
    ------
    FlywheelError
        Bad configuration, a folder holding another run, an unplannable scenario, or a
        generation/training failure (named).
    """
    return Flywheel(
        config, out, progress=progress, log=log, after_phase=after_phase, backend=backend
    ).run()
