"""Parsing free-text spatial answers into meters: a table of tricky answers and property tests."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.msmu_accuracy.number_words import words_to_digits
from metrics.msmu_accuracy.parsing import make_parser, parse_answer
from metrics.msmu_accuracy.units import UNIT_TO_METERS, canonical_unit, to_meters

FT, IN = 0.3048, 0.0254

# (answer, expected values in meters, is_range, unitless); None = nothing to parse.
LENGTH_CASES = [
    # the authors' released answer formats
    ("0.8 m x 0.63 m x 0.55 m", [0.8, 0.63, 0.55], False, False),
    ("1.2 meters", [1.2], False, False),
    ("3", [3.0], False, True),
    ("The height of the table is 0.75 m.", [0.75], False, False),
    # lists
    ("0.8 x 0.63 x 0.55 meters", [0.8, 0.63, 0.55], False, False),
    ("80 cm by 63 cm", [0.8, 0.63], False, False),
    ("0.8m\u00d70.63m\u00d70.55m", [0.8, 0.63, 0.55], False, False),
    ("L x W x H: 0.8 x 0.63 x 0.55 m", [0.8, 0.63, 0.55], False, False),
    ("0.8 m, 0.63 m and 0.55 m", [0.8, 0.63, 0.55], False, False),
    ("0.8, 0.63, 0.55 m", [0.8, 0.63, 0.55], False, False),
    ("0.8,0.63,0.55 m", [0.8, 0.63, 0.55], False, False),
    ("2 m x 1 m", [2.0, 1.0], False, False),
    ("2*1*0.5 m", [2.0, 1.0, 0.5], False, False),
    ("0.8 m x 0.63 x 0.55", [0.8, 0.63, 0.55], False, False),
    ("2 m and 150 cm", [2.0, 1.5], False, False),
    # plain values, spellings, case, signs, separators
    ("It is about 1.5 meters away.", [1.5], False, False),
    ("150 cm", [1.5], False, False),
    ("6 feet", [6 * FT], False, False),
    ("1 foot", [FT], False, False),
    ("12 inches", [12 * IN], False, False),
    ('12"', [12 * IN], False, False),
    ("2 yards", [2 * 0.9144], False, False),
    ("3 yd", [3 * 0.9144], False, False),
    ("1.5 km", [1500.0], False, False),
    ("450 mm", [0.45], False, False),
    ("1.5 mm", [0.0015], False, False),
    ("1,500 mm", [1.5], False, False),
    ("1,234.5 cm", [12.345], False, False),
    ("0.5 metres", [0.5], False, False),
    ("45 centimetres", [0.45], False, False),
    ("3 decimeters", [0.3], False, False),
    ("2 miles", [2 * 1609.344], False, False),
    ("2.5 Meters", [2.5], False, False),
    ("1.5M", [1.5], False, False),
    (".75 m", [0.75], False, False),
    ("+1.5 m", [1.5], False, False),
    ("-0.5 m", [-0.5], False, False),
    ("\u22120.5 m", [-0.5], False, False),
    ("approximately 2.00 meters.", [2.0], False, False),
    ("~1.2m", [1.2], False, False),
    ("1.2m.", [1.2], False, False),
    ("1.80 m", [1.8], False, False),
    ("1.5 meters tall", [1.5], False, False),
    ("1.5 m in height", [1.5], False, False),
    ("It is 4.5 m away from the camera.", [4.5], False, False),
    # compounds
    ("Roughly 5 feet 3 inches tall.", [5 * FT + 3 * IN], False, False),
    ("1 m 20 cm", [1.2], False, False),
    ("1 m and 50 cm", [1.5], False, False),
    ("5'3\"", [5 * FT + 3 * IN], False, False),
    ("5\u2032 3\u2033", [5 * FT + 3 * IN], False, False),
    ("5\u2019 3\u201d", [5 * FT + 3 * IN], False, False),
    ("5 ft 3 in", [5 * FT + 3 * IN], False, False),
    ("5 feet 3", [5 * FT + 3 * IN], False, False),
    ("5'3''", [5 * FT + 3 * IN], False, False),
    ("one meter twenty", [1.2], False, False),
    # ranges (midpoint by default)
    ("2-3 m", [2.5], True, False),
    ("2 - 3 meters", [2.5], True, False),
    ("2\u20133 m", [2.5], True, False),
    ("between 2 and 3 meters", [2.5], True, False),
    ("from 1.5 to 2 m", [1.75], True, False),
    ("2 or 3 feet", [2.5 * FT], True, False),
    ("1.5m - 2m", [1.75], True, False),
    ("about 2 ~ 3 m", [2.5], True, False),
    ("I think it is around 2.5-3.0 meters", [2.75], True, False),
    ("0.8-1.0 m x 0.6 m", [0.9, 0.6], True, False),
    # number words
    ("two meters", [2.0], False, False),
    ("twelve", [12.0], False, True),
    ("a dozen", [12.0], False, True),
    ("half a meter", [0.5], False, False),
    ("one and a half meters", [1.5], False, False),
    ("two and a half feet", [2.5 * FT], False, False),
    ("twenty-five centimeters", [0.25], False, False),
    ("one hundred and twenty cm", [1.2], False, False),
    ("zero point eight meters", [0.8], False, False),
    ("about a meter", [1.0], False, False),
    ("an inch", [IN], False, False),
    ("three quarters of a meter", [0.75], False, False),
    ("between two and three meters", [2.5], True, False),
    # verbose answers: the final answer sentence / the answer marker wins
    ("The table is 2 m from the chair, so the answer is 1.5 m", [1.5], False, False),
    ("The answer is 1.5 m, since the table is 2 m from the chair.", [1.5], False, False),
    ("The bed is 0.81 m tall. The table is therefore 0.75 m.", [0.75], False, False),
    ("The chair is 0.5 m tall. So the table is about 0.9 m tall.", [0.9], False, False),
    ("It is 1.5 meters tall. The chair next to it is smaller.", [1.5], False, False),
    ("about 6 ft (1.83 m).", [6 * FT], False, False),  # the parenthesis restates it
    ("The chair is 1 m and the table is 2 m", [1.0], False, False),  # first statement (ambiguous)
    ("The object is 1.2 meters wide and 0.8 meters deep.", [1.2], False, False),
    ("Depth: 2.3 m\nWidth: 1.1 m", [2.3], False, False),
    ("The distance is 2 m, which is about 6.5 feet", [2.0], False, False),
    # review finding 8: named dimensions make a list (L, W, H in the order written)
    ("length 0.8 m, width 0.63 m, height 0.55 m", [0.8, 0.63, 0.55], False, False),
    ("The chair is 0.8 meters in length, 0.63 meters in width, and 0.55 meters in height.", [0.8, 0.63, 0.55], False, False),
    ("0.8 m (length), 0.63 m (width) and 0.55 m (height)", [0.8, 0.63, 0.55], False, False),
    # review finding 1: hyphenated units
    ("a 30-cm vase", [0.3], False, False),
    ("a 1.5-meter table", [1.5], False, False),
    ("a 6-foot shelf", [6 * FT], False, False),
    # review finding 2: scientific notation is read whole, never as a prefix
    ("1.2e3 mm", [1.2], False, False),
    ("3e-1 m", [0.3], False, False),
    ("2E0 m", [2.0], False, False),
    # review finding 3: compounds, tolerances, negated values
    ("2 ft. 3 in.", [2 * FT + 3 * IN], False, False),
    ("5ft3in", [5 * FT + 3 * IN], False, False),
    ("1m20cm", [1.2], False, False),
    ("5 ft, 3 in", [5 * FT + 3 * IN], False, False),
    ("2 m, give or take 10 cm", [2.0], False, False),
    ("It is 1.5 m away, plus or minus 0.2 m", [1.5], False, False),
    ("1.5 \u00b1 0.2 m", [1.5], False, False),
    ("1.5 m +/- 0.2 m", [1.5], False, False),
    ("The distance is 2 meters, not 3 meters.", [2.0], False, False),
    ("I'd say 4 m; definitely not 6 m.", [4.0], False, False),
    ("about 3 m rather than 5 m", [3.0], False, False),
    ("not 3 m", [3.0], False, False),
    # review finding 4: "and a half" after a number or unit
    ("a meter and a half", [1.5], False, False),
    ("1 and a half meters", [1.5], False, False),
    ("two feet and a half", [2.5 * FT], False, False),
    # review finding 7: decimal commas (right side not exactly 3 digits)
    ("1,5 m", [1.5], False, False),
    ("0,75 m", [0.75], False, False),
    ("1,000 mm", [1.0], False, False),
    ("1,2,3 m", [1.0, 2.0, 3.0], False, False),
    # review finding 10: a number with a non-length unit is not a length
    ("5 minutes", None, False, False),
    ("5 min", None, False, False),
    ("2 months", None, False, False),
    ("5 mph", None, False, False),
    ("3 km/h", None, False, False),
    ("It takes 5 minutes to walk 300 m.", [300.0], False, False),
    # numbers that are not quantities, quoted numbers, prepositions
    ("The 3D model shows the table is 2.5m tall.", [2.5], False, False),
    ("The 2nd chair is 0.9 m away.", [0.9], False, False),
    ("'1.5'", [1.5], False, True),
    ("There are 3 chairs in the room.", None, False, False),  # a count of things, no length
    ("3 in the room", [3.0], False, True),
    # Q-Spatial's tagged format
    ("\\scalar{1.5} \\distance_unit{feet}", [1.5 * FT], False, False),
    ("The box is 2 m away. \\scalar{3} \\distance_unit{meters}", [3.0], False, False),
    # nothing to parse
    ("Yes, it is.", None, False, False),
    ("no idea", None, False, False),
    ("", None, False, False),
    ("The distance is unknown.", None, False, False),
    ("It is in the 3rd row.", None, False, False),
]


@pytest.mark.parametrize("text, expected, is_range, unitless", LENGTH_CASES, ids=[c[0][:40] for c in LENGTH_CASES])
def test_length_answers(text, expected, is_range, unitless):
    parsed = parse_answer(text)
    if expected is None:
        assert parsed is None
        return
    assert parsed is not None, text
    assert parsed.values == pytest.approx(expected, rel=1e-9), (text, parsed)
    assert parsed.is_range is is_range
    assert parsed.unitless is unitless


def test_table_is_large_enough():
    assert len(LENGTH_CASES) + len(COUNT_CASES) >= 80


COUNT_CASES = [
    # review finding 6: a count of nothing
    ("none", [0.0]),
    ("There are no chairs.", [0.0]),
    ("3", [3.0]),
    ("There are 3 chairs.", [3.0]),
    ("three", [3.0]),
    ("a dozen", [12.0]),
    ("zero", [0.0]),
    ("I count 5.", [5.0]),
    ("There are 2 chairs and 1 table, so 3 objects in total.", [3.0]),
    ("The answer is 4, not 5.", [4.0]),
    ("2-3 chairs", [2.5]),
    ("None", [0.0]),  # review finding 6: "none" is a count of 0
    ("I have no idea.", None),
]


@pytest.mark.parametrize("text, expected", COUNT_CASES)
def test_count_answers(text, expected):
    parsed = parse_answer(text, kind="count")
    if expected is None:
        assert parsed is None
    else:
        assert parsed.values == expected


# review finding 9: with the asked noun, the number attached to it wins; without, the first one.
@pytest.mark.parametrize(
    "text, noun, expected",
    [
        ("There are 3 chairs and 2 tables", "chairs", [3.0]),
        ("There are 3 chairs and 2 tables", "tables", [2.0]),
        ("There are 3 chairs and 2 tables", "chair", [3.0]),
        ("I see 2 tables and 3 wooden chairs", "chairs", [3.0]),
        ("There are 3 chairs and 2 tables", None, [3.0]),
        ("There are 3 chairs and 2 tables", "lamps", [3.0]),
        ("no idea", "chairs", None),
    ],
)
def test_count_prefers_the_asked_noun(text, noun, expected):
    parsed = parse_answer(text, kind="count", noun=noun)
    assert (parsed.values if parsed else None) == expected


def test_expect_len_collects_a_list_written_as_clauses():
    parsed = parse_answer("length 0.8 m, width 0.63 m, height 0.55 m", expect_len=3)
    assert parsed.values == [0.8, 0.63, 0.55]
    # It never invents values: one number for three expected stays one number.
    assert parse_answer("about 0.7 m", expect_len=3).values == [0.7]


# A chain of thought cut off after its answer marker, before the unit ("... So the answer is 1.9"):
# the bare value after the marker is the stated answer, not the first value of the reasoning.
_CUT_COT = (
    "The center of the cabinet is about 0.2 m to the right, 0.1 m below the optical axis and 1.9 m in front "
    "of the camera. The nearest face of its box is closer than its center. So the answer is {}"
)

_CUT_STEPS = (
    "Here's how I arrived at that estimate:\n\n1.  **Identify the regions:** Region [1] is the table.\n2.  **Scale:** "
    "the lamp is about 32 cm, roughly 300 pixels in the image.\n3.  **Estimate:** Therefore, the height is approximately 314"
)


@pytest.mark.parametrize(
    "text, expected, unitless, reason, ambiguous",
    [
        # the same value stated before with its unit: that unit, a sure reading
        (_CUT_COT.format("1.9"), [1.9], False, "after the answer marker, unit of the same value stated before", False),
        ("The table is 6 ft (1.83 m) away, so the answer is 6", [6 * FT], False, "unit of the same value", False),
        # a new value: the answer's one unit, a guess (ambiguous)
        (_CUT_COT.format("1.0"), [1.0], False, "after the answer marker, unit of the answer's other values", True),
        ("It is 3 ft from the table and 5 ft from the door, so the answer is 8", [8 * FT], False, "other values", True),
        # a long answer cut off at its last number: not dropped as cut off when the marker precedes it
        (_CUT_STEPS, [3.14], False, "after the answer marker, unit of the answer's other values", True),
        # values in several units: the default unit, flagged unitless
        ("The box is 30 cm wide and 0.5 m tall. So the answer is 0.4", [0.4], True, "after the answer marker", True),
        # a value with a unit after the marker still wins over a bare one
        ("The lamp is 2 m away. So the answer is 1.5 m, not 3.", [1.5], False, "after the answer marker", False),
    ],
)
def test_bare_value_after_the_answer_marker_is_the_answer(text, expected, unitless, reason, ambiguous):
    parsed = parse_answer(text, question="How far is the cabinet from the camera?")
    assert parsed.values == pytest.approx(expected)
    assert parsed.unitless is unitless
    assert reason in parsed.reason
    assert parsed.ambiguous is ambiguous


@pytest.mark.parametrize("policy, expected", [("midpoint", [2.5]), ("lower", [2.0]), ("upper", [3.0])])
def test_range_policies(policy, expected):
    assert parse_answer("2-3 m", range_policy=policy).values == expected


def test_range_policy_reject_makes_ranges_unparseable():
    assert parse_answer("2-3 m", range_policy="reject") is None
    assert parse_answer("2.5 m", range_policy="reject").values == [2.5]


def test_default_unit():
    assert parse_answer("3", default_unit="cm").values == [0.03]
    assert parse_answer("3", default_unit="feet").values == pytest.approx([3 * FT])
    assert parse_answer("3", default_unit=None) is None
    assert parse_answer("3 m", default_unit=None).values == [3.0]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"range_policy": "average"}, "range_policy"),
        ({"kind": "area"}, "kind"),
        ({"default_unit": "parsec"}, "parsec"),
    ],
)
def test_bad_options_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        parse_answer("1 m", **kwargs)


def test_non_string_answer_raises_and_none_is_unparseable():
    with pytest.raises(TypeError, match="int"):
        parse_answer(3)
    assert parse_answer(None) is None


def test_make_parser_matches_parse_answer():
    parse = make_parser(default_unit="cm", range_policy="lower")
    for text in ("3", "2-3 m", "5 feet 3 inches", "0.8 x 0.6 m"):
        assert parse(text) == parse_answer(text, default_unit="cm", range_policy="lower")


def test_units_table():
    assert canonical_unit("Inches") == "in"
    assert to_meters(2, "yards") == pytest.approx(1.8288)
    with pytest.raises(ValueError, match="furlong"):
        canonical_unit("furlong")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("two and a half", "2.5"),
        ("a hundred and five", "105"),
        ("one thousand two hundred", "1200"),
        ("two dozen", "24"),
        ("someone and nobody", "someone and nobody"),
        ("which one is taller", "which one is taller"),  # a pronoun, not a number
    ],
)
def test_words_to_digits(text, expected):
    assert words_to_digits(text) == expected


# Property tests: format a random value in a random unit and phrasing, parse it back.
_SPELLINGS = {
    "m": ["m", "meters", "metres", "meter"],
    "cm": ["cm", "centimeters"],
    "mm": ["mm", "millimeters"],
    "ft": ["ft", "feet"],
    "in": ["in", "inches"],
    "yd": ["yd", "yards"],
    "km": ["km", "kilometers"],
}
_TEMPLATES = ["{v} {u}", "{v}{u}", "It is about {v} {u} away.", "The height of the table is {v} {u}.", "roughly {v} {u}"]


@settings(max_examples=300, deadline=None)
@given(
    value=st.floats(min_value=0.001, max_value=9999, allow_nan=False, allow_infinity=False),
    unit=st.sampled_from(sorted(_SPELLINGS)),
    data=st.data(),
)
def test_format_then_parse_recovers_meters(value, unit, data):
    decimals = data.draw(st.integers(min_value=0, max_value=4))
    spelling = data.draw(st.sampled_from(_SPELLINGS[unit]))
    template = data.draw(st.sampled_from(_TEMPLATES))
    written = f"{value:.{decimals}f}"
    if float(written) == 0:
        return  # rounded to zero: nothing meaningful to recover
    text = template.format(v=written, u=spelling)
    parsed = parse_answer(text)
    assert parsed is not None, text
    expected = float(written) * UNIT_TO_METERS[unit]
    assert parsed.values == [pytest.approx(expected, rel=1e-9)], text
    # within the rounding of the written value
    assert math.isclose(parsed.values[0], value * UNIT_TO_METERS[unit], rel_tol=0, abs_tol=0.5 * 10**-decimals * UNIT_TO_METERS[unit] + 1e-12)


@settings(max_examples=200, deadline=None)
@given(
    dims=st.lists(st.floats(min_value=0.01, max_value=20, allow_nan=False), min_size=2, max_size=3),
    unit=st.sampled_from(["m", "cm", "ft"]),
    sep=st.sampled_from([" x ", "x", " by ", " \u00d7 ", " * "]),
    unit_each=st.booleans(),
)
def test_lists_recover_every_element(dims, unit, sep, unit_each):
    written = [f"{d:.2f}" for d in dims]
    if any(float(w) == 0 for w in written):
        return
    text = sep.join(f"{w} {unit}" for w in written) if unit_each else sep.join(written) + f" {unit}"
    parsed = parse_answer(text)
    assert parsed is not None, text
    assert parsed.values == pytest.approx([float(w) * UNIT_TO_METERS[unit] for w in written], rel=1e-9), text


@settings(max_examples=200, deadline=None)
@given(feet=st.integers(min_value=1, max_value=9), inches=st.integers(min_value=0, max_value=11))
def test_feet_and_inches(feet, inches):
    expected = feet * FT + inches * IN
    for text in (f"{feet}'{inches}\"", f"{feet} feet {inches} inches", f"{feet} ft {inches} in tall"):
        assert parse_answer(text).values == [pytest.approx(expected)], text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_never_crashes(text):
    parsed = parse_answer(text)
    assert parsed is None or all(math.isfinite(v) for v in parsed.values)
