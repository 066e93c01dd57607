"""Understanding models: radar encoders, a radar-text contrastive model, classifiers.

=====================  ======================================================================
``inputs``             map windows normalised per sample to [0, 1] (floor 40 dB below the
                       peak), point-cloud windows, :class:`RadarModelDataset` over a store
``augment``            sim-to-real augmentations (time warp, Doppler scaling, motion speed,
                       amplitude and noise in dB, point dropout/jitter/density, radar
                       pose), a registry
``encoders``           ``vit`` (adaptive patching, one token stream per view), ``cnn``
                       baseline, ``points`` (PointNet per span of frames + temporal transformer)
``text``               all-MiniLM-L6-v2 loaded offline, frozen / last-N / full training
``losses``             CLIP InfoNCE and SigLIP (named loss terms), cross-entropy
``models``             :class:`RadarTextModel` (``encode_radar``/``encode_text``) and
                       :class:`RadarClassifier`, built from dataclass configs
``registry``           named configs, :func:`list_models`
``zeroshot``           prompt-ensembled class embeddings
``train``              :func:`train` with checkpoints, resume and seeded determinism
``io``                 :func:`save_model` / :func:`load_model`
``predict``            :func:`predict` on a store or a products ``.npz``, evaluation helpers
``synthetic``          small simulated datasets for tests and benchmarks
=====================  ======================================================================

References: Radford et al., "Learning Transferable Visual Models From Natural Language
Supervision" (CLIP, 2021); Zhai et al., "Sigmoid Loss for Language Image Pre-Training"
(SigLIP, 2023); Qi et al., "PointNet" (2017); Singh et al., "RadHAR" (2019).
"""

from mmexpert.models.encoders import ENCODERS, EncoderConfig, RadarEncoder
from mmexpert.models.io import LoadedModel, load_model, save_model
from mmexpert.models.models import (
    ClassifierConfig,
    ClipConfig,
    RadarClassifier,
    RadarTextModel,
    build_model,
)
from mmexpert.models.registry import list_models, model_config
from mmexpert.models.train import TrainConfig, TrainResult, train

__all__ = [
    "ENCODERS",
    "ClassifierConfig",
    "ClipConfig",
    "EncoderConfig",
    "LoadedModel",
    "RadarClassifier",
    "RadarEncoder",
    "RadarTextModel",
    "TrainConfig",
    "TrainResult",
    "build_model",
    "list_models",
    "load_model",
    "model_config",
    "save_model",
    "train",
]
