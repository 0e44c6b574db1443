"""Throughput of the default audio embedder and of the temporal window aligner.

    python benchmarks/embedders.py embedder [--clips 48] [--threads 2]
    python benchmarks/embedders.py aligner [--clips 540] [--voxels 60000] [--threads 2]
    python benchmarks/embedders.py model --backend clap [--device cuda] [--clips 32]

``embedder`` embeds synthetic 15 s music-like clips (tones, drum clicks, noise) with
``AudioEmbedder()`` (librosa features, 10 s windows every 1.5 s) and reports seconds of
audio per second of compute, i.e. the multiple of real time (target: >= 50x on 2 cores),
for audio at the backend's 22,050 Hz and at 44,100 Hz (resampled), plus the ``mel`` and
``modulation`` backends; the floor is the clip-level STFT alone, measured in the same run.

``aligner`` aligns a paper-scale float32 response array (540 clips x 10 scans x 60,000
voxels, 1.3 GB) to 10 s windows and reports GB/s counting the bytes read and written,
against baselines measured in the same run: a copy into a new array (read, write and the
page faults of a fresh output, as the aligner pays), a copy into a preallocated array and a
read-only sum (what the memory bandwidth allows).

``model`` times a model backend on a full-size, randomly initialised model built from the
default ``transformers`` config of its class (same cost as the real checkpoint, no weights
needed), with 22,050 Hz input resampled to the model's rate.

Use ``taskset -c 0,1`` (or ``--threads``) to pin the core count; timings are the best of
``--repeats`` runs after a warm-up.
"""

import argparse

import numpy as np
from _measure import best_time


def music_like_clips(n_clips, sample_rate, seconds=15.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    clips = np.empty((n_clips, t.size), dtype=np.float32)
    for i in range(n_clips):
        pitches = 110.0 * 2 ** (rng.integers(0, 36, size=3) / 12)
        tone = sum(np.sin(2 * np.pi * f * t) for f in pitches) / 3
        beat = np.zeros_like(t)
        period = int(sample_rate * 60.0 / rng.uniform(70, 160))
        beat[::period] = 1.0
        clicks = np.convolve(beat, np.exp(-np.arange(400) / 60.0), mode="same")
        clips[i] = 0.4 * tone + 0.5 * clicks + 0.05 * rng.standard_normal(t.size)
    return clips


def bench_embedder(n_clips, repeats):
    import librosa

    from skbrainmusic import AudioEmbedder
    from skbrainmusic.embeddings import _librosa

    audio_seconds = n_clips * 15.0
    clips_22k = music_like_clips(n_clips, 22050)
    clips_44k = music_like_clips(n_clips, 44100)
    # fit_transform: the embedding of every clip plus the standardisation learned on them.
    runs = {
        "librosa (22,050 Hz in)":
            lambda: AudioEmbedder(sample_rate=22050).fit_transform(clips_22k),
        "librosa (44,100 Hz in, resampled)":
            lambda: AudioEmbedder(sample_rate=44100).fit_transform(clips_44k),
        "mel (22,050 Hz in)":
            lambda: AudioEmbedder(backend="mel", sample_rate=22050).fit_transform(clips_22k),
        "modulation (22,050 Hz in)":
            lambda: AudioEmbedder(backend="modulation",
                                  sample_rate=22050).fit_transform(clips_22k),
        "floor: clip STFT only": lambda: librosa.stft(
            clips_22k, n_fft=_librosa.N_FFT, hop_length=_librosa.HOP_LENGTH, center=False),
    }
    print(f"{n_clips} clips x 15 s = {audio_seconds:.0f} s of audio")
    for name, run in runs.items():
        seconds = best_time(run, repeats)
        print(f"  {name:36s} {seconds:7.3f} s  {audio_seconds / seconds:8.1f}x real time")


def bench_aligner(n_clips, n_voxels, repeats):
    from skbrainmusic import TemporalWindowAligner

    rng = np.random.default_rng(0)
    responses = rng.standard_normal((n_clips, 10, n_voxels), dtype=np.float32)
    aligner = TemporalWindowAligner(window=10.0).fit(responses[:1])
    n_windows = aligner.n_windows_
    copy_target = np.empty_like(responses)
    moved_aligner = responses.nbytes + n_clips * n_windows * n_voxels * 4
    moved_copy = 2 * responses.nbytes
    t_align = best_time(lambda: aligner.transform(responses), repeats)
    t_copyto = best_time(lambda: np.copyto(copy_target, responses), repeats)
    t_copy = best_time(lambda: responses.copy(), repeats)
    t_read = best_time(lambda: responses.sum(), repeats)
    print(f"responses {responses.shape} float32 ({responses.nbytes / 1e9:.2f} GB) -> "
          f"{n_windows} windows")
    rows = [("aligner (new output)", t_align, moved_aligner),
            ("copy (new array)", t_copy, moved_copy),
            ("copyto (preallocated)", t_copyto, moved_copy),
            ("sum (read only)", t_read, responses.nbytes)]
    for name, seconds, moved in rows:
        print(f"  {name:22s} {seconds:7.3f} s  {moved / seconds / 1e9:6.2f} GB/s")
    print(f"  aligner bandwidth / new-array copy bandwidth: "
          f"{(moved_aligner / t_align) / (moved_copy / t_copy):.2f}")


def full_size_model(backend):
    import transformers

    if backend == "clap":
        return (transformers.ClapModel(transformers.ClapConfig()),
                transformers.ClapFeatureExtractor())
    classes = {"encodec": ("EncodecModel", "EncodecConfig"),
               "w2v-bert": ("Wav2Vec2BertModel", "Wav2Vec2BertConfig"),
               "wav2vec2": ("Wav2Vec2Model", "Wav2Vec2Config"),
               "hubert": ("HubertModel", "HubertConfig")}
    model_class, config_class = classes[backend]
    return getattr(transformers, model_class)(getattr(transformers, config_class)())


def bench_model(backend, device, n_clips, batch_size, repeats):
    from skbrainmusic import AudioEmbedder

    clips = music_like_clips(n_clips, 22050)
    embedder = AudioEmbedder(backend=backend, model=full_size_model(backend),
                             sample_rate=22050, device=device, batch_size=batch_size,
                             standardize=False).fit()
    seconds = best_time(lambda: embedder.transform(clips), repeats)
    out = embedder.transform(clips[:1])
    print(f"{backend} on {device}: {n_clips} clips x 15 s, windows {out.shape[1]} x "
          f"d={out.shape[2]}, batch_size={batch_size}: {seconds:.3f} s, "
          f"{n_clips * 15.0 / seconds:.1f}x real time")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["embedder", "aligner", "model"])
    parser.add_argument("--backend", default="clap")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--clips", type=int, default=None)
    parser.add_argument("--voxels", type=int, default=60000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    with threadpool_limits(args.threads):
        if args.what == "embedder":
            bench_embedder(args.clips or 48, args.repeats)
        elif args.what == "aligner":
            bench_aligner(args.clips or 540, args.voxels, args.repeats)
        else:
            bench_model(args.backend, args.device, args.clips or 32, args.batch_size,
                        args.repeats)


if __name__ == "__main__":
    main()
