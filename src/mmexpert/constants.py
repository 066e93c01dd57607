"""Physical constants [SI]. The only place they are defined."""

SPEED_OF_LIGHT_MPS = 299_792_458.0
"""Speed of light in vacuum [m/s]."""

BOLTZMANN_J_PER_K = 1.380_649e-23
"""Boltzmann constant [J/K]."""

REFERENCE_TEMPERATURE_K = 290.0
"""Standard noise reference temperature T0 [K] (IEEE noise-figure definition)."""
