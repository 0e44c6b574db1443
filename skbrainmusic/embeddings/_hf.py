"""Hugging Face ``transformers`` backends: open counterparts of the paper's audio models.

Each backend wraps one model class and its feature extractor behind the interface of the
audio embedders (``sample_rate``, ``settings()``, ``embed(clips, starts, length)``); torch
and transformers are imported only here, lazily, since they are an optional extra.
``model`` is a model object, a ``(model, feature_extractor)`` pair, a local path or a hub id
(loaded with ``local_files_only`` unless the user allows the network).
"""

import hashlib
import os

import numpy as np

# Default checkpoints: the counterparts named in DESIGN.md (MuLan -> CLAP music, SoundStream
# -> EnCodec 24 kHz, w2v-BERT -> Wav2Vec2-BERT 2.0; A.1.9's exact wav2vec 2.0 / HuBERT).
DEFAULT_CHECKPOINTS = {
    "clap": "laion/larger_clap_music",
    "encodec": "facebook/encodec_24khz",
    "w2v-bert": "facebook/w2v-bert-2.0",
    "wav2vec2": "facebook/wav2vec2-large-960h",
    "hubert": "facebook/hubert-large-ls960-ft",
}


def _import_transformers():
    try:
        import torch
        import transformers
    except ImportError as error:
        raise ImportError(
            "the model backends need torch and transformers: pip install "
            "'skbrainmusic[deep]' (or use the offline default backend)."
        ) from error
    return torch, transformers


def model_fingerprint(model):
    """A string that changes whenever the model's configuration or weights change.

    Strings (paths, hub ids) are their own fingerprint; model objects hash their config and
    every parameter and buffer, so an embedding cache never mixes two different models.
    """
    if isinstance(model, (str, os.PathLike)):
        return f"name:{os.fspath(model)}"
    digest = hashlib.sha256(model.config.to_json_string().encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().to("cpu").contiguous().numpy().tobytes())
    return f"sha256:{digest.hexdigest()}"


def load_pretrained(model, backend, model_class, processor_class, local_files_only):
    """Resolve ``model`` into ``(model_object, processor_or_None)``.

    Parameters
    ----------
    model : None, str, path-like, model object or (model object, processor) tuple
        ``None`` loads the backend's default checkpoint from the local cache.
    backend : str
        Backend name, for error messages and the default checkpoint.
    model_class, processor_class : str
        Names in ``transformers`` of the model and processor (tokenizer or feature
        extractor) classes; the processor is loaded with the ``Auto`` class of its kind.
    local_files_only : bool
        Never reach the network when True.
    """
    _, transformers = _import_transformers()
    if model is None:
        model = DEFAULT_CHECKPOINTS[backend]
    if isinstance(model, tuple):
        if len(model) != 2:
            raise ValueError(
                f"model must be a (model, processor) pair when a tuple, got {len(model)} items."
            )
        return model
    if not isinstance(model, (str, os.PathLike)):
        return model, None
    name = os.fspath(model)
    try:
        loaded = getattr(transformers, model_class).from_pretrained(
            name, local_files_only=local_files_only
        )
        processor = getattr(transformers, processor_class).from_pretrained(
            name, local_files_only=local_files_only
        )
    except OSError as error:
        hint = (" It is not in the local Hugging Face cache: download it once with "
                "local_files_only=False, or pass a local path or a model object."
                if local_files_only else "")
        raise OSError(f"backend={backend!r} could not load model {name!r}.{hint}") from error
    return loaded, processor


class _HFAudioBackend:
    """Window audio -> one vector per window with a transformers model (see subclasses)."""

    name = None
    model_class = None
    default_window = None

    def __init__(self, model, layer, device, local_files_only):
        self.torch, self.transformers = _import_transformers()
        self.model, extractor = load_pretrained(
            model, self.name, self.model_class, "AutoFeatureExtractor", local_files_only
        )
        self.extractor = extractor if extractor is not None else self.default_extractor()
        self.layer = self._check_layer(layer)
        self.device = device
        self.model.eval()
        self.model.to(device)
        self.sample_rate = int(self.extractor.sampling_rate)
        # Named models are identified by their name; objects by their weights (hashed only
        # when a cache asks for settings()).
        if model is None:
            model = DEFAULT_CHECKPOINTS[self.name]
        self._model_name = model if isinstance(model, (str, os.PathLike)) else None

    def _check_layer(self, layer):
        if layer is not None:
            raise ValueError(
                f"layer={layer!r} is not used by backend={self.name!r}: leave it None "
                "(layers can be chosen for w2v-bert, wav2vec2 and hubert)."
            )
        return None

    def settings(self):
        fingerprint = model_fingerprint(self._model_name or self.model)
        return {"model": fingerprint, "layer": self.layer,
                "extractor": self.extractor.to_json_string()}

    def embed(self, clips, starts, length):
        windows = [clip[start : start + length] for clip in clips for start in starts]
        with self.torch.no_grad():
            vectors = self.forward(windows)
        vectors = vectors.detach().to("cpu", self.torch.float32).numpy()
        return vectors.reshape(len(clips), len(starts), -1)

    def _inputs(self, windows, **kwargs):
        inputs = self.extractor(windows, sampling_rate=self.sample_rate, return_tensors="pt",
                                **kwargs)
        return {key: value.to(self.device) for key, value in inputs.items()}

    def _hidden_layer_mean(self, inputs):
        """Mean over time of the chosen hidden layer (``layer=None``: the last one)."""
        if self.layer is None:
            hidden = self.model(**inputs).last_hidden_state
        else:
            hidden = self.model(**inputs, output_hidden_states=True).hidden_states[self.layer]
        return hidden.mean(dim=1)

    def _check_hidden_layer(self, layer):
        n_layers = self.model.config.num_hidden_layers
        if layer is None:
            return None
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)):
            raise TypeError(f"layer must be an int or None, got {layer!r}.")
        if not -(n_layers + 1) <= layer <= n_layers:
            raise ValueError(
                f"layer={layer} is out of range: the model has {n_layers} layers, so layer "
                f"must be in [-{n_layers + 1}, {n_layers}] (0 = input embeddings)."
            )
        return int(layer)


class ClapAudioBackend(_HFAudioBackend):
    """CLAP audio tower (MuLan-music counterpart): projected, L2-normalised embedding."""

    name = "clap"
    model_class = "ClapModel"
    default_window = 10.0

    def default_extractor(self):
        return self.transformers.ClapFeatureExtractor()

    def embed(self, clips, starts, length):
        max_samples = int(self.extractor.nb_max_samples)
        if length > max_samples:
            raise ValueError(
                f"window of {length / self.sample_rate:g} s is longer than the CLAP feature "
                f"extractor's {max_samples / self.sample_rate:g} s, which it would crop at "
                "random: use a window of at most that length."
            )
        return super().embed(clips, starts, length)

    def forward(self, windows):
        fused = bool(getattr(self.model.config.audio_config, "enable_fusion", False))
        inputs = self._inputs(windows, truncation="fusion" if fused else "rand_trunc")
        output = self.model.get_audio_features(**inputs)
        # transformers >= 5 returns a ModelOutput, older versions the tensor itself.
        return getattr(output, "pooler_output", output)


class EncodecBackend(_HFAudioBackend):
    """EnCodec encoder latents averaged per window (SoundStream-avg counterpart)."""

    name = "encodec"
    model_class = "EncodecModel"
    default_window = 1.5

    def default_extractor(self):
        config = self.model.config
        return self.transformers.EncodecFeatureExtractor(
            feature_size=config.audio_channels, sampling_rate=config.sampling_rate
        )

    def forward(self, windows):
        if int(self.extractor.feature_size) == 2:
            # Stereo checkpoints (encodec_48khz) get the mono window on both channels.
            windows = [np.stack([window, window]) for window in windows]
        inputs = self._inputs(windows)
        latents = self.model.encoder(inputs["input_values"])
        return latents.mean(dim=2)


class W2vBertBackend(_HFAudioBackend):
    """Wav2Vec2-BERT hidden layer averaged per window (w2v-BERT-avg counterpart).

    ``layer=None`` selects layer 7, the w2v-BERT layer MusicLM tokenises.
    """

    name = "w2v-bert"
    model_class = "Wav2Vec2BertModel"
    default_window = 5.0
    default_layer = 7

    def _check_layer(self, layer):
        if layer is None:
            n_layers = self.model.config.num_hidden_layers
            if n_layers < self.default_layer:
                raise ValueError(
                    f"layer=None selects layer {self.default_layer} for w2v-bert (MusicLM's), "
                    f"but the model has {n_layers} layers: pass layer= explicitly."
                )
            return self.default_layer
        return self._check_hidden_layer(layer)

    def default_extractor(self):
        return self.transformers.SeamlessM4TFeatureExtractor()

    def forward(self, windows):
        return self._hidden_layer_mean(self._inputs(windows))


class Wav2Vec2Backend(_HFAudioBackend):
    """wav2vec 2.0 hidden layer averaged per window (A.1.9; ``layer=None``: the last)."""

    name = "wav2vec2"
    model_class = "Wav2Vec2Model"
    default_window = 10.0

    def _check_layer(self, layer):
        return self._check_hidden_layer(layer)

    def default_extractor(self):
        return self.transformers.Wav2Vec2FeatureExtractor(
            sampling_rate=16000, do_normalize=True, return_attention_mask=True
        )

    def forward(self, windows):
        inputs = self._inputs(windows)
        return self._hidden_layer_mean({"input_values": inputs["input_values"]})


class HubertBackend(Wav2Vec2Backend):
    """HuBERT hidden layer averaged per window (A.1.9; ``layer=None``: the last)."""

    name = "hubert"
    model_class = "HubertModel"
