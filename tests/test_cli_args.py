import math

import pytest

from mmexpert.cli_args import ArgumentError, parse_target


def test_parse_target_converts_degrees_to_radians():
    spec = parse_target("r=3.0,v=-1.5,az=20,el=-5,rcs=2")
    assert spec.range_m == 3.0
    assert spec.velocity_mps == -1.5
    assert spec.azimuth_rad == pytest.approx(math.radians(20))
    assert spec.elevation_rad == pytest.approx(math.radians(-5))
    assert spec.rcs_m2 == 2.0


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("r=3,v=1", "missing az"),
        ("r=3,v=1,az=x", "not a number"),
        ("r=3,v=1,az=10,speed=2", "is not one of"),
        ("r=-1,v=1,az=10", "r must be > 0"),
        ("r=3,v=1,az=95", "inside (-90, 90)"),
        ("r=3,v=1,az=10,r=4", "given twice"),
        ("r=3,v=1,az=10,rcs=0", "rcs must be > 0"),
        ("r=nan,v=1,az=10", "finite"),
    ],
)
def test_bad_targets_are_explained(text, phrase):
    with pytest.raises(ArgumentError) as info:
        parse_target(text)
    assert phrase in str(info.value)
