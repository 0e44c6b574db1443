"""Music and text embedders of Table A.2, with open counterparts and offline defaults.

:class:`AudioEmbedder` turns audio clips into windowed embeddings ``(n_clips, n_windows,
d)`` on the windows :class:`~skbrainmusic.TemporalWindowAligner` averages fMRI scans on;
:class:`CaptionEmbedder` turns captions into ``(n_texts, d)``.
"""

from ._audio import AudioEmbedder
from ._caption import CaptionEmbedder

__all__ = ["AudioEmbedder", "CaptionEmbedder"]
