"""Tiny randomly initialised models of the paper's open path (CLAP -> MusicLDM / AudioLDM ->
AST), shared by the tests: no weights, seconds on a CPU.

The builders import transformers / diffusers when called, so test modules can skip cleanly
when those are missing.
"""

from skbrainmusic.metrics import AUDIOSET_LABELS


def tiny_clap(projection_dim=8):
    """A tiny ``ClapModel`` and its feature extractor (8 kHz audio, 1 s windows at most)."""
    import transformers

    audio = transformers.ClapAudioConfig(
        spec_size=64, num_mel_bins=16, window_size=4, patch_size=2, patch_stride=2,
        patch_embeds_hidden_size=16, hidden_size=32, depths=[1, 1],
        num_attention_heads=[2, 2], projection_dim=projection_dim,
    )
    text = transformers.ClapTextConfig(
        vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=40, projection_dim=projection_dim,
    )
    config = transformers.ClapConfig(text_config=text.to_dict(), audio_config=audio.to_dict(),
                                     projection_dim=projection_dim)
    extractor = transformers.ClapFeatureExtractor(
        feature_size=16, sampling_rate=8000, hop_length=80, max_length_s=1,
        fft_window_size=512, frequency_min=50, frequency_max=4000,
    )
    return transformers.ClapModel(config), extractor


#: Dimension of the CLAP embedding the tiny diffusion pipelines are conditioned on.
DIFFUSION_EMBEDDING_DIM = 32


def tiny_diffusion_components():
    """Tiny random MusicLDM / AudioLDM parts, as diffusers' own tests build them.

    One CLAP text tower with projection serves both pipelines: generating from
    ``prompt_embeds`` only uses its dtype (MusicLDM accepts it in place of a ClapModel).
    """
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import (
        ClapTextConfig,
        ClapTextModelWithProjection,
        SpeechT5HifiGan,
        SpeechT5HifiGanConfig,
    )

    dim = DIFFUSION_EMBEDDING_DIM
    torch.manual_seed(0)
    return {
        "unet": UNet2DConditionModel(
            block_out_channels=(32, 64), layers_per_block=1, sample_size=32, in_channels=4,
            out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=(32, 64),
            class_embed_type="simple_projection", projection_class_embeddings_input_dim=dim,
            class_embeddings_concat=True),
        "scheduler": DDIMScheduler(
            beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
            clip_sample=False, set_alpha_to_one=False),
        "vae": AutoencoderKL(
            block_out_channels=[32, 64], in_channels=1, out_channels=1,
            down_block_types=["DownEncoderBlock2D"] * 2,
            up_block_types=["UpDecoderBlock2D"] * 2, latent_channels=4),
        "text_encoder": ClapTextModelWithProjection(ClapTextConfig(
            bos_token_id=0, eos_token_id=2, hidden_size=16, intermediate_size=37,
            layer_norm_eps=1e-05, num_attention_heads=2, num_hidden_layers=2, pad_token_id=1,
            vocab_size=1000, projection_dim=dim)),
        "vocoder": SpeechT5HifiGan(SpeechT5HifiGanConfig(
            model_in_dim=8, sampling_rate=16000, upsample_initial_channel=16,
            upsample_rates=[2, 2], upsample_kernel_sizes=[4, 4], resblock_kernel_sizes=[3, 7],
            resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5]], normalize_before=False)),
        "tokenizer": None,
    }


def tiny_diffusion_pipeline(backend, components):
    """A ``MusicLDMPipeline`` (``backend="musicldm"``) or ``AudioLDMPipeline``."""
    from diffusers import AudioLDMPipeline, MusicLDMPipeline

    if backend == "audioldm":
        return AudioLDMPipeline(**components)
    return MusicLDMPipeline(feature_extractor=None, **components)


def tiny_ast(seed=0):
    """A tiny ``ASTForAudioClassification`` with the 527 AudioSet classes."""
    import torch
    from transformers import ASTConfig, ASTForAudioClassification

    config = ASTConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
        num_mel_bins=16, max_length=24,
        id2label=dict(enumerate(AUDIOSET_LABELS)),
        label2id={name: i for i, name in enumerate(AUDIOSET_LABELS)},
    )
    torch.manual_seed(seed)
    return ASTForAudioClassification(config)
