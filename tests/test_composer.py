import ast
import inspect

import numpy as np
import pytest

from skbrainmusic import composer as composer_module
from skbrainmusic.composer import (
    CHORD_PLANS,
    FAMILIES,
    GROOVES,
    Composer,
    band_envelope,
    family_of_genre,
    key_name,
    program_classes,
)
from skbrainmusic.datasets import _music
from skbrainmusic.generation import _attributes, _score

# The synthetic study's score tables: the composer must bring its own knowledge.
STUDY_TABLES = ("STYLES", "DRUM_PATTERNS", "PROGRESSIONS", "BASS_PATTERNS", "HELDOUT_STYLES",
                "HELDOUT_DRUM_PATTERNS", "HELDOUT_PROGRESSIONS", "HELDOUT_BASS_PATTERNS",
                "WORLDS", "COMP_RHYTHMS", "VOICINGS", "draw_clip", "score_events")
RATE = 8000


@pytest.mark.parametrize("module", [composer_module, _score, _attributes])
def test_no_study_table_is_imported(module):
    tree = ast.parse(inspect.getsource(module))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names = {alias.name for alias in node.names}
            assert not names & set(STUDY_TABLES), (module.__name__, node.module, names)
            if node.module and node.module.endswith("_music"):
                assert names <= {"Renderer"}, names
            # A whole-module import of _music would hand the tables over.
            assert "_music" not in names
        elif isinstance(node, ast.Import):
            assert not any(alias.name.endswith("_music") for alias in node.names)
        elif isinstance(node, ast.Attribute):
            assert node.attr not in STUDY_TABLES


def _objects(value, seen):
    """Ids of a table and every container nested in it."""
    if id(value) in seen or not isinstance(value, (dict, list, tuple, set)):
        return seen
    seen.add(id(value))
    items = value.values() if isinstance(value, dict) else value
    for item in items:
        _objects(item, seen)
    if isinstance(value, dict):
        for item in value.values():
            if hasattr(item, "__dict__"):
                _objects(vars(item), seen)
    return seen


def test_no_table_object_is_shared():
    study = set()
    for name in STUDY_TABLES[:10]:
        _objects(getattr(_music, name), study)
    ours = set()
    for name, value in vars(composer_module).items():
        if not name.startswith("__"):
            _objects(value, ours)
    for family in FAMILIES.values():
        _objects(vars(family), ours)
    assert not ours & study


def _pattern(groove):
    return frozenset((drum, tuple(spec[0] if isinstance(spec, tuple) else spec))
                     for drum, spec in groove.items())


def test_own_patterns_differ_from_both_worlds():
    study_grooves = {_pattern(p) for p in (*_music.DRUM_PATTERNS.values(),
                                           *_music.HELDOUT_DRUM_PATTERNS.values())}
    assert not {_pattern(g) for g in GROOVES.values()} & study_grooves
    study_plans = [list(p) for p in (*_music.PROGRESSIONS.values(),
                                     *_music.HELDOUT_PROGRESSIONS.values())]
    for plan in CHORD_PLANS.values():
        # Plans hold a chord per half bar; the study's, one per bar.
        assert plan[::2] not in study_plans and plan not in study_plans


def test_compose_follows_the_attributes():
    composer = Composer(sample_rate=RATE, duration=4.0, fade=0.2)
    piece = composer.compose({"genre": "Pop music", "tempo": 93.0, "key": "Bb", "mode": "minor",
                              "programs": [73, 0, 32], "drums": False, "density": 0.8},
                             random_state=0)
    assert piece.family == "pop" and family_of_genre("Hip-Hop") == "beat"
    assert (piece.tempo, piece.tonic, piece.major) == (93.0, 10, False)
    assert piece.programs == (73, 0, 32) and not piece.drums
    assert not any(channel == 9 for _, channel, *_ in piece.events)
    onsets = np.array([e[0] for e in piece.events if e[1] == 2])
    # The bass of an unswung family plays on the tempo's sixteenth grid.
    step = 60.0 / 93.0 / 4
    assert np.allclose(np.round(onsets / step), onsets / step, atol=1e-6)
    assert piece.describe()["key"] == "A# minor" == key_name(10, False)


@pytest.mark.parametrize("genre", ["pop", "jazz", "classical", "reggae"])
def test_accompaniment_stays_in_the_key_above_the_bass(genre):
    composer = Composer(sample_rate=RATE, duration=8.0)
    piece = composer.compose({"genre": genre, "key": 2, "mode": "major"}, random_state=0)
    scale = {(2 + step) % 12 for step in composer_module.MAJOR_SCALE}
    chords = [e[2] for e in piece.events if e[1] == 1]
    # Every chord tone is a tone of the key (the chords of other degrees included).
    assert {note % 12 for note in chords} <= scale
    assert np.median(chords) > np.median([e[2] for e in piece.events if e[1] == 2])


def test_instrument_beliefs_steer_the_programs():
    composer = Composer(sample_rate=RATE, duration=2.0)
    winds = composer.compose({"genre": "classical", "instruments": {
        "Wind instrument, woodwind instrument": 0.9, "Bowed string instrument": 0.1}}, 0)
    strings = composer.compose({"genre": "classical", "instruments": {
        "Wind instrument, woodwind instrument": 0.1, "Bowed string instrument": 0.9}}, 0)
    assert "Wind instrument, woodwind instrument" in program_classes(winds.programs[0])
    assert "Bowed string instrument" in program_classes(strings.programs[0])
    drums = composer.compose({"genre": "classical", "instruments": {"Percussion": 0.9}}, 0)
    assert drums.drums is True


def test_missing_attributes_come_from_the_family_and_the_seed():
    composer = Composer(sample_rate=RATE, duration=3.0)
    pieces = [composer.compose({"genre": "metal"}, random_state=seed) for seed in range(8)]
    low, high = FAMILIES["heavy"].tempo
    assert all(low <= p.tempo <= high for p in pieces)
    assert all(p.programs[0] in FAMILIES["heavy"].lead for p in pieces)
    assert len({p.tonic for p in pieces}) > 1
    again = composer.compose({"genre": "metal"}, random_state=3)
    assert again.events == pieces[3].events
    assert family_of_genre("Unknown-genre") is None
    assert composer.compose({"genre": "Unknown-genre", "drums": False}, 0).family == "chamber"


def test_render_shape_loudness_and_tonal_balance():
    composer = Composer(sample_rate=RATE, duration=3.0, fade=0.5, loudness=0.1)
    attributes = {"genre": "rock", "tempo": 120.0, "key": 0, "mode": "major"}
    plain = composer.render([composer.compose(attributes, 0)])
    assert plain.shape == (1, 3 * RATE) and plain.dtype == np.float32
    assert np.sqrt(np.mean(plain.astype(np.float64) ** 2)) == pytest.approx(0.1, rel=1e-3)
    assert abs(plain[0, 0]) < 1e-6
    own = band_envelope(plain, RATE, 8)[0]
    tilt = np.linspace(-12.0, 12.0, 8)
    bright = composer.render([composer.compose({**attributes, "envelope": own + tilt}, 0)])
    change = band_envelope(bright, RATE, 8)[0] - own
    # The equaliser moves the balance the asked way (within the fades' and bands' blur).
    assert np.corrcoef(change, tilt)[0, 1] > 0.9
    assert change[-1] - change[0] > 12.0
    # The level follows the envelope too (log-mel features see the mean log power).
    louder = composer.render([composer.compose({**attributes, "envelope": own + 6.0}, 0)])
    assert np.mean(band_envelope(louder, RATE, 8)[0] - own) == pytest.approx(6.0, abs=1.0)


@pytest.mark.parametrize("attributes, match", [
    ({"tempo": 500.0}, "tempo"),
    ({"key": "H"}, "note name"),
    ({"key": 12}, "pitch class"),
    ({"mode": "dorian"}, "mode"),
    ({"programs": [1, 2]}, "programs"),
    ({"density": 1.5}, "density"),
    ({"envelope": [1.0]}, "envelope"),
    ({"instruments": {"Percussion": -1.0}}, "instruments"),
])
def test_bad_attributes_raise(attributes, match):
    with pytest.raises(ValueError, match=match):
        Composer(sample_rate=RATE, duration=1.0).compose(attributes, 0)


def test_attributes_must_be_a_dict():
    with pytest.raises(TypeError, match="dict"):
        Composer().compose(["jazz"])


def test_band_envelope_is_the_one_of_librosas_stft():
    import librosa

    audio = Composer(sample_rate=RATE, duration=3.0, fade=0.2).generate(
        [{"genre": "rock"}, {"genre": "jazz"}], 0)
    filters = composer_module._band_filters(RATE, 16)
    power = np.abs(librosa.stft(audio, n_fft=composer_module._BAND_N_FFT,
                                hop_length=composer_module._BAND_HOP)) ** 2
    reference = composer_module._band_levels(power, filters, composer_module._BAND_TOP_DB)
    np.testing.assert_array_equal(band_envelope(audio, RATE, 16), reference)
    # The filter bank is shared between calls: nobody may change it.
    assert composer_module._band_filters(RATE, 16) is filters
    assert not filters.flags.writeable


def test_stereo_to_mono_rounds_as_the_mean_of_each_pair():
    rng = np.random.default_rng(0)
    extremes = np.array([1e-45, 1e-45, -1e-45, 3e-45, 3e38, 3e38, -0.0, 0.0, 1.0,
                         np.nextafter(np.float32(1.0), np.float32(2.0))], dtype=np.float32)
    for stereo in (rng.standard_normal(20000).astype(np.float32), extremes):
        with np.errstate(over="ignore"):
            np.testing.assert_array_equal(_music._mono(stereo),
                                          stereo.reshape(-1, 2).mean(axis=1))


def test_clamp_is_np_clip_on_scalars():
    values = [-200, 29, 30, 31, 126, 127, 128, np.int64(-5), np.int64(140)]
    for value in values:
        for low, high in ((30, 127), (0, 13)):
            clamped = composer_module._clamp(value, low, high)
            assert clamped == np.clip(value, low, high)
            assert int(clamped) == clamped
