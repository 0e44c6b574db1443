import hashlib
import tempfile

import numpy as np
import pytest

from skbrainmusic.datasets import _music, make_synthetic_study


def _pattern(pattern):
    return frozenset((drum, tuple(steps)) for drum, steps in pattern.items())


def _programs(styles):
    return {p for style in styles.values() for role in ("lead", "harmony", "bass")
            for p in style[role]}


def test_heldout_world_shares_no_groove_progression_voicing_or_program():
    default, heldout = _music.WORLDS["default"], _music.WORLDS["heldout"]
    assert not ({_pattern(p) for p in default["drums"].values()}
                & {_pattern(p) for p in heldout["drums"].values()})
    assert not ({tuple(p) for p in default["progressions"].values()}
                & {tuple(p) for p in heldout["progressions"].values()})
    assert not ({tuple(p) for p in default["bass"].values()}
                & {tuple(p) for p in heldout["bass"].values()})
    # The General MIDI programs of the default world: the first 35 entries of INSTRUMENTS.
    default_programs = set(list(_music.INSTRUMENTS)[:35])
    assert _programs(default["styles"]) <= default_programs
    assert not default_programs & _programs(heldout["styles"])
    for key in ("comp", "voicing"):
        used = {style.get(key, "close") for style in default["styles"].values()}
        assert not used & {style[key] for style in heldout["styles"].values()}
    # Every held-out style names a pattern, progression and bass figure of its own world.
    for style in heldout["styles"].values():
        assert style["drums"] is None or style["drums"] in heldout["drums"]
        assert set(style["progressions"]) <= set(heldout["progressions"])
        assert style["bass_pattern"] in heldout["bass"]


def _events_digest(clips):
    events = [tuple(round(float(v), 6) for v in e) for c in clips for e in _music.score_events(c)]
    return hashlib.sha1(repr(events).encode()).hexdigest()


def test_default_world_scores_are_unchanged():
    clips = [_music.draw_clip(g, np.random.default_rng([0, 1, i]))
             for i, g in enumerate(_music.GENRES)]
    # The digest of the default world's scores before the held-out world existed, with
    # the bass line and the accompaniment on the channels of their programs (cache v3).
    assert _events_digest(clips) == "e3ac6ceb1778c15766f87ab7788c63563941b51d"
    assert not any("channel" in clip or "groove" in clip for clip in clips)


@pytest.mark.parametrize("world", ["default", "heldout"])
def test_every_part_plays_on_the_channel_of_its_program(world):
    # programs = (lead, harmony, bass) select channels 0, 1, 2: the bass program must play
    # the lowest part.
    for i, genre in enumerate(_music.GENRES):
        clip = _music.draw_clip(genre, np.random.default_rng([0, 2, i]), world)
        events = _music.score_events(clip)
        median = {channel: np.median([e[2] for e in events if e[1] == channel])
                  for channel in (0, 1, 2)}
        assert median[2] < min(median[0], median[1]), (world, genre, median)


def test_heldout_clips_differ_and_pass_through_the_channel():
    rng_args = [0, 1, 3]
    default = _music.draw_clip("disco", np.random.default_rng(rng_args))
    heldout = _music.draw_clip("disco", np.random.default_rng(rng_args), "heldout")
    assert heldout["groove"] in _music.HELDOUT_DRUM_PATTERNS and heldout["drums"] is None
    assert abs(heldout["channel"]["detune"]) <= 30.0
    assert not set(heldout["programs"]) & set(default["programs"])
    renderer = _music.Renderer(8000)
    events = _music.score_events(heldout)
    renderer.render_events(heldout["programs"], events, 4.0)
    dry = renderer.render_events(heldout["programs"], events, 4.0)
    detuned = renderer.render_events(heldout["programs"], events, 4.0, detune_cents=30.0)
    assert not np.allclose(dry, detuned)
    # The synthesizer is left untuned for the next clip (whose first half second may still
    # hold the release tails of the previous one, in either world).
    after = renderer.render_events(heldout["programs"], events, 4.0)
    assert np.allclose(dry[4000:], after[4000:])
    with pytest.raises(ValueError, match="world must be one of"):
        _music.draw_clip("disco", np.random.default_rng(0), "elsewhere")


@pytest.mark.slow
def test_heldout_study_is_cached_apart_and_keeps_its_labels():
    home = tempfile.mkdtemp()
    sizes = dict(n_train_runs=1, n_test_runs=1, n_voxels=300, n_corpus=2, data_home=home)
    default = make_synthetic_study(**sizes)
    heldout = make_synthetic_study(world="heldout", **sizes)
    assert not np.array_equal(default.audio_test, heldout.audio_test)
    assert list(default.clips_test.genre) == list(heldout.clips_test.genre)
    assert {"key", "programs", "density"} <= set(heldout.clips_test.columns)
    assert not {p for ps in default.clips_train.programs for p in ps} & {
        p for ps in heldout.clips_train.programs for p in ps}
    with pytest.raises(ValueError, match="world must be one of"):
        make_synthetic_study(world="elsewhere", **sizes)
