"""Text captions: generated ones for synthetic clips and the Brain2Music caption file."""

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ._music import INSTRUMENTS

_GENRE_WORDS = {
    "blues": "blues", "classical": "classical", "country": "country", "disco": "disco",
    "hiphop": "hip-hop", "jazz": "jazz", "metal": "metal", "pop": "pop", "reggae": "reggae",
    "rock": "rock",
}
_MOOD_WORDS = {
    "Happy music": ["cheerful", "bright", "joyful"],
    "Sad music": ["melancholic", "sentimental", "nostalgic"],
    "Tender music": ["gentle", "relaxed", "calm"],
    "Exciting music": ["energetic", "lively", "driving"],
    "Angry music": ["aggressive", "intense", "heavy"],
    "Scary music": ["dark", "sinister", "tense"],
}
_SCENES = {
    "Happy music": ["a sunny afternoon drive", "a party with friends", "a festive scene"],
    "Sad music": ["a rainy evening", "a farewell scene", "late-night reflection"],
    "Tender music": ["a quiet café", "reading at home", "a slow morning"],
    "Exciting music": ["a dance floor", "a sports highlight reel", "a car chase"],
    "Angry music": ["a workout", "a fight scene in a game", "a stormy night"],
    "Scary music": ["a thriller soundtrack", "a night walk in the city", "a suspense scene"],
}
_DRUM_WORDS = {
    "shuffle": "a shuffle rhythm on the drums",
    "two_beat": "a two-beat rhythm with a side stick",
    "four_on_floor": "a four-on-the-floor kick with open hi-hats and tambourine",
    "boom_bap": "a laid-back boom-bap beat",
    "swing_ride": "a swinging ride cymbal",
    "double_kick": "fast double-kick drumming",
    "pop": "a tight, beat-oriented drum groove",
    "one_drop": "a one-drop drum rhythm",
    "rock": "a straight rock beat with crash cymbals",
    # The held-out world's grooves.
    "triplet_ride": "a triplet feel on the ride cymbal",
    "brush_train": "a brisk train beat with a busy snare",
    "hustle": "a disco hustle beat with open hi-hats on the off-beats",
    "trap": "a trap beat with rolling hi-hats",
    "brushes": "soft brushwork on the ride and a side stick",
    "gallop": "a galloping kick drum with crashes",
    "half_time": "a half-time beat with tambourine",
    "steppers_rim": "a steppers kick on every beat with rim shots",
    "floor_tom": "pounding floor toms and a cowbell",
    "timpani_roll": "rolling low toms, like timpani",
}


def _tempo_word(tempo):
    if tempo < 85:
        return "slow"
    if tempo < 120:
        return "medium-tempo"
    return "up-tempo"


def _article(word):
    return "An" if word[0] in "aeiou" else "A"


def make_caption(clip, rng):
    """A 4-5 sentence caption in the style of the Brain2Music captions.

    Parameters
    ----------
    clip : dict
        Clip parameters from the synthetic music generator (genre, tempo, programs, drums,
        moods, major).
    rng : numpy.random.Generator
        Source of the wording choices.

    Returns
    -------
    caption : str
    """
    lead, harmony, bass = (INSTRUMENTS[p][1] for p in clip["programs"])
    mood = clip["moods"][0]
    adjective = str(rng.choice(_MOOD_WORDS[mood]))
    genre = _GENRE_WORDS[clip["genre"]]
    tempo = _tempo_word(clip["tempo"])
    sentences = [
        str(rng.choice([
            f"This is {_article(tempo).lower()} {tempo} {genre} piece with "
            f"{_article(adjective).lower()} {adjective} feel.",
            f"{_article(adjective)} {adjective}, {tempo} {genre} track.",
            f"{tempo.capitalize()} {genre} music in a "
            f"{'major' if clip['major'] else 'minor'} key.",
        ])),
        str(rng.choice([
            f"The {lead} plays the melody over the {harmony}.",
            f"The melody is carried by the {lead}, supported by the {harmony}.",
            f"{_article(lead)} {lead} leads while the {harmony} provides the harmony.",
        ])),
        str(rng.choice([
            f"The {bass} keeps a steady groove.",
            f"The {bass} underpins the piece.",
        ])),
    ]
    # Held-out clips name their drum pattern ``groove``.
    groove = clip.get("groove") or clip["drums"]
    if groove is not None:
        sentences.append(f"The rhythm is driven by {_DRUM_WORDS[groove]}.")
    secondary = _MOOD_WORDS[clip["moods"][1]][0]
    sentences.append(str(rng.choice([
        f"It would suit {rng.choice(_SCENES[mood])}.",
        f"The atmosphere is {adjective} and a little {secondary}.",
    ])))
    return " ".join(sentences)


_ID_PATTERN = re.compile(r"^([a-z]+)\.(\d+)_15s$")


def load_captions(path, clips=None):
    """Load the Brain2Music captions (``ID,DescEN`` CSV) and join them to clip ids.

    The file is UTF-8 with a byte-order mark. Ids look like ``blues.00017_15s``; they
    are turned into the clip ids of :func:`load_nakai2022` (``blues.00017``). One id of
    the published file is malformed (``disco.000011_15s`` for ``disco.00011``): ids with
    more than five digits whose number still fits are repaired, with a warning.

    Parameters
    ----------
    path : str or path-like
        The CSV file (``brain2music-captions.csv``).
    clips : DataFrame, default=None
        Clips with a ``clip_id`` column (e.g. ``study.clips_train``). When given, the
        captions are returned in the order of its rows, and every clip must have one.

    Returns
    -------
    captions : DataFrame or list of str
        Without ``clips``: a DataFrame with columns ``clip_id`` and ``caption``. With
        ``clips``: the list of captions, one per row of ``clips``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skbrainmusic.datasets import load_captions
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "captions.csv"
    >>> _ = path.write_text("\\ufeffID,DescEN\\nblues.00000_15s,Heavy blues.\\n", encoding="utf-8")
    >>> load_captions(path).clip_id.tolist()
    ['blues.00000']
    """
    path = Path(path)
    try:
        table = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError as exc:
        raise ValueError(f"The caption file {path} is empty; expected the Brain2Music "
                         "'ID,DescEN' CSV.") from exc
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ValueError(f"Cannot read the caption file {path}: {exc}") from exc
    if list(table.columns) != ["ID", "DescEN"]:
        raise ValueError(
            f"{path} has columns {list(table.columns)}; expected the Brain2Music header "
            "'ID,DescEN'."
        )
    clip_ids = []
    for raw in table["ID"]:
        match = _ID_PATTERN.match(raw.strip())
        if match is None:
            raise ValueError(f"{path}: caption id {raw!r} is not of the form 'genre.00000_15s'.")
        genre, digits = match.groups()
        if len(digits) != 5:
            number = int(digits)
            if number >= 10**5:
                raise ValueError(f"{path}: caption id {raw!r} has a track number out of range.")
            repaired = f"{genre}.{number:05d}"
            warnings.warn(
                f"{path}: malformed caption id {raw!r} read as {repaired!r}.", UserWarning,
                stacklevel=2,
            )
            clip_ids.append(repaired)
        else:
            clip_ids.append(f"{genre}.{digits}")
    captions = pd.DataFrame({"clip_id": clip_ids, "caption": table["DescEN"].str.strip()})
    duplicated = captions.clip_id[captions.clip_id.duplicated()].tolist()
    if duplicated:
        raise ValueError(f"{path}: clips with more than one caption: {duplicated}.")
    if clips is None:
        return captions
    by_id = dict(zip(captions.clip_id, captions.caption))
    missing = [clip_id for clip_id in clips["clip_id"] if clip_id not in by_id]
    if missing:
        raise ValueError(f"{path} has no caption for {len(missing)} clip(s): {missing[:10]}.")
    return [by_id[clip_id] for clip_id in clips["clip_id"]]


def make_captions(clips, seed):
    """Captions of drawn clips; the wording of clip ``i`` depends only on ``seed`` and ``i``."""
    return [
        make_caption(clip, np.random.default_rng([seed, i])) for i, clip in enumerate(clips)
    ]
