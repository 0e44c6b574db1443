"""MusicLDM / AudioLDM backends: a CLAP embedding conditions a latent diffusion model."""

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._validation import check_positive_int

PIPELINES = {"musicldm": "MusicLDMPipeline", "audioldm": "AudioLDMPipeline"}
EXAMPLE_MODELS = {"musicldm": "ucsd-reach/musicldm", "audioldm": "cvssp/audioldm-s-full-v2"}


def load_pipeline(backend, model, *, local_files_only, device):
    """A diffusers pipeline from a local path / hub id, or the given pipeline object."""
    if model is None:
        raise ValueError(f"DiffusionBackend(pipeline={backend!r}) needs model=: a local "
                         f"pipeline directory, a hub id (e.g. {EXAMPLE_MODELS[backend]!r}) or "
                         f"a {PIPELINES[backend]} object.")
    import diffusers

    pipeline_class = getattr(diffusers, PIPELINES[backend])
    if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
        # The tokenizer and CLAP feature extractor serve the text prompt and the ranking of
        # several waveforms, neither of which conditioning on embeddings uses.
        optional = {"tokenizer": None}
        if backend == "musicldm":
            optional["feature_extractor"] = None
        try:
            model = pipeline_class.from_pretrained(
                model, local_files_only=local_files_only, **optional)
        except (OSError, ValueError) as exc:
            raise ValueError(
                f"Could not load a {pipeline_class.__name__} from model={str(model)!r}: it is "
                "not a local pipeline directory"
                + (" nor a hub id in the local cache (local_files_only=True)"
                   if local_files_only else "") + f". ({exc})") from exc
    if not all(hasattr(model, name) for name in ("unet", "vae", "vocoder")):
        raise TypeError(f"model must be a path, a hub id or a {pipeline_class.__name__}, got "
                        f"{type(model).__name__}.")
    model.set_progress_bar_config(disable=True)
    return model.to(device)


def embedding_dim(pipeline):
    """Dimension of the CLAP embedding the UNet is conditioned on."""
    return int(pipeline.unet.config.projection_class_embeddings_input_dim)


def generate(pipeline, embeddings, *, negative_embedding, num_inference_steps, guidance_scale,
             audio_length_in_s, random_state, batch_size):
    """Waveforms (n, n_samples) float32 from embeddings (n, d), L2-normalised here."""
    import torch

    rng = check_random_state(random_state)
    dtype = pipeline.unet.dtype
    device = pipeline.unet.device
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    negative = np.broadcast_to(negative_embedding, unit.shape).copy()
    waveforms = []
    for start in range(0, len(unit), batch_size):
        stop = start + batch_size
        generator = torch.Generator(device="cpu").manual_seed(int(rng.randint(2**31 - 1)))
        # Always pass negative_prompt_embeds: without it the pipeline encodes an empty text
        # prompt for guidance, a path broken for MusicLDM under transformers 5.
        output = pipeline(
            prompt_embeds=torch.as_tensor(unit[start:stop], dtype=dtype, device=device),
            negative_prompt_embeds=torch.as_tensor(negative[start:stop], dtype=dtype,
                                                   device=device),
            num_inference_steps=num_inference_steps,
            guidance_scale=guidance_scale,
            audio_length_in_s=audio_length_in_s,
            generator=generator,
            output_type="np",
        )
        waveforms.append(np.asarray(output.audios, dtype=np.float32))
    return np.concatenate(waveforms)


class DiffusionBackend(BaseEstimator):
    """Generation backend: MusicLDM / AudioLDM conditioned on a CLAP embedding.

    The open counterpart of the paper's MusicLM conditioned on MuLan (needs ``diffusers``,
    ``transformers``, ``torch`` and weights). The embedding, L2-normalised, is passed as
    ``prompt_embeds`` ``(n, projection_dim)``, with ``negative_prompt_embeds`` for
    classifier-free guidance. The embeddings must be CLAP embeddings of the pipeline's own
    CLAP model (e.g. from ``AudioEmbedder(backend="clap")`` with the same weights). ``fit``
    only loads the model: a diffusion backend learns nothing from a corpus.

    Parameters
    ----------
    pipeline : {"musicldm", "audioldm"}, default="musicldm"
        Diffusers pipeline class: ``MusicLDMPipeline`` or ``AudioLDMPipeline``.
    model : str, path or diffusers pipeline, default=None
        A local pipeline directory, a hub id in the local cache (e.g.
        ``"ucsd-reach/musicldm"``, ``"cvssp/audioldm-s-full-v2"``) or a pipeline object.
        A pipeline object is shared, not copied, by :func:`~sklearn.base.clone`
        (generation never changes its weights); ``fit`` moves it to ``device``.
    num_inference_steps : int, default=50
        Diffusion steps.
    guidance_scale : float, default=2.5
        Classifier-free guidance weight (1 disables guidance).
    audio_length_in_s : float, default=None
        Length of generated audio; ``None`` uses the pipeline's default (10.24 s).
    negative_embedding : array-like of shape (d,) or (n_clips, d), default=None
        Unconditional embedding for guidance; ``None`` uses zeros.
    batch_size : int, default=4
        Clips per diffusion call.
    local_files_only : bool, default=True
        Never download weights.
    device : str, default="cpu"
        Torch device of the diffusion pipeline (e.g. ``"cuda"``).

    Attributes
    ----------
    pipeline_ : diffusers pipeline
        The loaded pipeline.
    n_features_in_ : int
        Dimension of the CLAP embedding the UNet is conditioned on.
    sample_rate_ : int
        Sample rate of the vocoder.

    Examples
    --------
    >>> from skbrainmusic import ConditionedGenerator
    >>> from skbrainmusic.generation import DiffusionBackend
    >>> backend = DiffusionBackend("audioldm", model="cvssp/audioldm-s-full-v2",
    ...                            num_inference_steps=20)
    >>> generator = ConditionedGenerator(backend)
    >>> generator.get_params()["backend__num_inference_steps"]
    20
    """

    def __init__(self, pipeline="musicldm", model=None, num_inference_steps=50,
                 guidance_scale=2.5, audio_length_in_s=None, negative_embedding=None,
                 batch_size=4, local_files_only=True, device="cpu"):
        self.pipeline = pipeline
        self.model = model
        self.num_inference_steps = num_inference_steps
        self.guidance_scale = guidance_scale
        self.audio_length_in_s = audio_length_in_s
        self.negative_embedding = negative_embedding
        self.batch_size = batch_size
        self.local_files_only = local_files_only
        self.device = device

    def __sklearn_clone__(self):
        # A pipeline object holds gigabytes of weights that generation never changes:
        # clones (one per candidate and fold of a grid search) share it.
        params = self.get_params(deep=False)
        return type(self)(**{name: value if name == "model" else clone(value, safe=False)
                             for name, value in params.items()})

    def fit(self, embeddings=None, audio=None, sample_rate=None):
        """Load the pipeline (the corpus, if any, is only checked for its dimension).

        Parameters
        ----------
        embeddings : array-like of shape (n_clips, d), default=None
            Corpus embeddings: ``d`` must be the pipeline's embedding dimension.
        audio : None
            Ignored.
        sample_rate : None
            Ignored.

        Returns
        -------
        self : DiffusionBackend
        """
        if self.pipeline not in PIPELINES:
            raise ValueError(f"pipeline must be one of {tuple(PIPELINES)}, got "
                             f"{self.pipeline!r}.")
        for name in ("num_inference_steps", "batch_size"):
            check_positive_int(getattr(self, name), name)
        self.pipeline_ = load_pipeline(self.pipeline, self.model,
                                       local_files_only=self.local_files_only,
                                       device=self.device)
        self.n_features_in_ = embedding_dim(self.pipeline_)
        self.sample_rate_ = int(self.pipeline_.vocoder.config.sampling_rate)
        if embeddings is not None and np.shape(embeddings)[-1] != self.n_features_in_:
            raise ValueError(f"The corpus embeddings have {np.shape(embeddings)[-1]} "
                             f"dimensions but the {PIPELINES[self.pipeline]} is conditioned "
                             f"on {self.n_features_in_}: embed the corpus with the "
                             "pipeline's own CLAP model.")
        return self

    def generate(self, embeddings, random_state=None):
        """Waveforms conditioned on embeddings.

        Parameters
        ----------
        embeddings : ndarray of shape (n, d)
            Conditions (L2-normalised here; validated by the caller).
        random_state : int, RandomState instance or None, default=None
            Seed of the diffusion noise (one draw per batch).

        Returns
        -------
        audio : ndarray of shape (n, n_samples), float32
        """
        check_is_fitted(self)
        norms = np.linalg.norm(embeddings, axis=1)
        if np.any(norms == 0):
            raise ValueError(f"X has zero-norm embeddings (rows "
                             f"{np.flatnonzero(norms == 0)[:10].tolist()}): they cannot be "
                             "L2-normalised for conditioning.")
        negative = (np.zeros(embeddings.shape[1]) if self.negative_embedding is None
                    else np.asarray(self.negative_embedding, dtype=np.float64))
        if negative.shape not in ((embeddings.shape[1],), embeddings.shape):
            raise ValueError(f"negative_embedding has shape {negative.shape}; expected "
                             f"({embeddings.shape[1]},) or {embeddings.shape}.")
        return generate(self.pipeline_, embeddings, negative_embedding=negative,
                        num_inference_steps=self.num_inference_steps,
                        guidance_scale=self.guidance_scale,
                        audio_length_in_s=self.audio_length_in_s, random_state=random_state,
                        batch_size=self.batch_size)
