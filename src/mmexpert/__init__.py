"""mmExpert: scenario text to synthetic mmWave radar data, models, and sim-to-real evaluation.

Stages (imports point one way, downstream to upstream)::

    radar/   RadarConfig, TI .cfg files, presets, FMCW synthesis -> RadarCube
    dsp/     range / Doppler / angle processing, CFAR, point clouds, maps
    data/    readers for real captures (DCA1000 raw ADC)
    eval/    plots and reports
    cli.py   the ``mmexpert`` command
"""

__version__ = "0.1.0"
