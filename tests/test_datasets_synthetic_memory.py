"""The synthetic study writes its clips chunk by chunk, letting go of each written chunk."""

import numpy as np
import pytest

from skbrainmusic.datasets import _synthetic, make_synthetic_study

TINY = dict(n_train_runs=1, n_test_runs=1, n_voxels=600, n_corpus=10)


@pytest.mark.slow
def test_written_chunks_are_released_and_the_audio_kept(tmp_path, monkeypatch):
    whole = make_synthetic_study(**TINY, cache=False, n_jobs=1)
    released = []
    release = _synthetic.release_pages

    def spying(array):
        released.append(array.shape)
        return release(array)

    monkeypatch.setattr(_synthetic, "release_pages", spying)
    monkeypatch.setattr(_synthetic, "_RENDER_CHUNK", 4)
    # Chunks of 4 clips rendered in 2 processes: every clip is rendered on its own, so the
    # audio equals the whole, serial render.
    chunked = make_synthetic_study(**TINY, data_home=tmp_path, n_jobs=2)
    # Every chunk of every role (10, 3 and 3 chunks of 40, 10 and 10 clips), then the
    # training and test audio once more after their acoustic features were read.
    assert released.count((40, whole.audio_train.shape[1])) == 10 + 1
    assert released.count((10, whole.audio_train.shape[1])) == 2 * 3 + 1
    assert isinstance(chunked.corpus.audio, np.memmap)
    for name in ("audio_train", "audio_test"):
        np.testing.assert_array_equal(chunked[name], whole[name])
    np.testing.assert_array_equal(chunked.corpus.audio, whole.corpus.audio)
    # Runs simulated in 2 processes, each from its own seed: the same responses.
    for name in ("responses_train", "responses_test", "responses_test_repeats"):
        np.testing.assert_array_equal(chunked[name], whole[name])


def test_a_clip_renders_the_same_whatever_was_rendered_before():
    from skbrainmusic.datasets._music import draw_clip, render_clips

    clips = [draw_clip(genre, np.random.default_rng([0, 1, i]), "default")
             for i, genre in enumerate(["jazz", "metal", "classical"])]
    together = render_clips(clips)
    alone = [render_clips([clip])[0] for clip in clips]
    np.testing.assert_array_equal(together, np.stack(alone))
    assert np.abs(together[0] - together[1]).max() > 0.1  # different clips differ
