"""MusicLDM / AudioLDM backends: a CLAP embedding conditions a latent diffusion model."""

import numpy as np
from sklearn.utils import check_random_state

PIPELINES = {"musicldm": "MusicLDMPipeline", "audioldm": "AudioLDMPipeline"}


def load_pipeline(backend, model, *, local_files_only, device):
    """A diffusers pipeline from a local path / hub id, or the given pipeline object."""
    if model is None:
        raise ValueError(f"backend={backend!r} needs model=: a local pipeline directory, a hub "
                         "id (e.g. 'ucsd-reach/musicldm' or 'cvssp/audioldm-s-full-v2') or a "
                         f"{PIPELINES[backend]} object.")
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
