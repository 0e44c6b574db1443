"""The synthetic study writes its clips chunk by chunk, letting go of each written chunk."""

import numpy as np
import pytest

from skbrainmusic.datasets import _synthetic, make_synthetic_study

TINY = dict(n_train_runs=1, n_test_runs=1, n_voxels=600, n_corpus=10)


@pytest.mark.slow
def test_written_chunks_are_released_and_the_audio_kept(tmp_path, monkeypatch):
    whole = make_synthetic_study(**TINY, cache=False)
    released = []
    release = _synthetic.release_pages

    def spying(array):
        released.append(array.shape)
        return release(array)

    monkeypatch.setattr(_synthetic, "release_pages", spying)
    chunked = make_synthetic_study(**TINY, data_home=tmp_path)
    # Every chunk of every role (8 chunks of at most 40, 10 and 10 clips), then the
    # training and test audio once more after their acoustic features were read.
    assert released.count((40, whole.audio_train.shape[1])) == 8 + 1
    assert released.count((10, whole.audio_train.shape[1])) == 2 * 8 + 1
    assert isinstance(chunked.corpus.audio, np.memmap)
    for name in ("audio_train", "audio_test"):
        np.testing.assert_array_equal(chunked[name], whole[name])
    np.testing.assert_array_equal(chunked.corpus.audio, whole.corpus.audio)
    np.testing.assert_array_equal(chunked.responses_train, whole.responses_train)
