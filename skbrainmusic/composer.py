"""A General MIDI composer: new pieces from musical attributes.

:class:`Composer` writes a short piece from a handful of musical attributes (a genre or
genre probabilities, tempo, key and mode, instrumentation, rhythmic density, mood,
tonal balance, loudness) and renders it through the General MIDI soundfont that pretty_midi
ships (``TimGM6mb.sf2``, with ``tinysoundfont``). It carries its own musical knowledge:
style families with their grooves, chord progressions, bass and voicing rules and
instrument palettes, and a map from AudioSet instrument classes to General MIDI program
families. Attributes left out are drawn from the style family, so a genre alone gives a
random piece of that genre.

It is the composer of :class:`skbrainmusic.generation._score.ScoreBackend`, which decodes the
attributes from embeddings; it never sees a score of the music it reconstructs.
"""

import functools
from dataclasses import dataclass, field

import numpy as np
from sklearn.utils import check_random_state

from .datasets._audio import prepare_clips

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

# The sixteen General MIDI program families (programs 8k .. 8k + 7).
GM_FAMILIES = (
    "piano", "chromatic percussion", "organ", "guitar", "bass", "strings", "ensemble",
    "brass", "reed", "pipe", "synth lead", "synth pad", "synth effects", "ethnic",
    "percussive", "sound effects",
)

# AudioSet instrument classes (the paper's A.1.6 group and AST's finer names) -> the
# General MIDI families that sound like them.
AUDIOSET_TO_GM = {
    "Keyboard (musical)": ("piano", "organ", "synth lead", "synth pad"),
    "Piano": ("piano",),
    "Electric piano": ("piano",),
    "Organ": ("organ",),
    "Synthesizer": ("synth lead", "synth pad"),
    "Plucked string instrument": ("guitar", "bass", "ethnic"),
    "Guitar": ("guitar",),
    "Electric guitar": ("guitar",),
    "Acoustic guitar": ("guitar",),
    "Bass guitar": ("bass",),
    "Banjo": ("ethnic",),
    "Bowed string instrument": ("strings",),
    "Violin, fiddle": ("strings",),
    "Cello": ("strings",),
    "String section": ("ensemble", "strings"),
    "Orchestra": ("ensemble", "strings"),
    "Brass instrument": ("brass",),
    "Trumpet": ("brass",),
    "Wind instrument, woodwind instrument": ("reed", "pipe"),
    "Saxophone": ("reed",),
    "Flute": ("pipe",),
    "Clarinet": ("reed",),
    "Choir": ("ensemble",),
    "Harp": ("strings",),
    "Accordion": ("organ",),
    "Harmonica": ("organ",),
    "Percussion": ("chromatic percussion",),
    "Drum kit": (),
    "Drum": (),
}
# Classes that mean a drum kit plays.
DRUM_CLASSES = ("Percussion", "Drum kit", "Drum")
# Programs whose AudioSet class is narrower than their General MIDI family.
_SPECIFIC_CLASSES = {21: "Accordion", 22: "Harmonica", 46: "Harp", 52: "Choir", 53: "Choir"}

# General MIDI drum keys used by the grooves.
_BD, _RIM, _SD, _HCP, _CHH, _PHH, _OHH, _CYM, _RCY, _TMB, _LT, _HT, _CWB, _SHK = (
    35, 37, 40, 39, 42, 44, 46, 57, 59, 54, 45, 50, 56, 70)

# Grooves: one bar of 16 steps (sixteenths): drum key -> (steps, velocity).
GROOVES = {
    "slow_shuffle": {_BD: ([0, 10], 100), _SD: ([4, 12], 95),
                     _CHH: ([0, 3, 4, 7, 8, 11, 12, 15], 70)},
    "train": {_BD: ([0, 8], 95), _RIM: ([4, 12], 90), _SHK: (list(range(16)), 50)},
    "disco_pulse": {_BD: ([0, 4, 8, 12], 110), _SD: ([4, 12], 90), _OHH: ([2, 6, 10, 14], 80),
                    _SHK: ([1, 3, 5, 7, 9, 11, 13, 15], 55)},
    "lazy_beat": {_BD: ([0, 3, 10], 110), _HCP: ([4, 12], 100),
                  _CHH: ([0, 2, 4, 6, 8, 10, 12, 14, 15], 65)},
    "ride_swing": {_RCY: ([0, 4, 7, 8, 12, 15], 80), _PHH: ([4, 12], 70), _BD: ([0, 8], 55)},
    "blast": {_BD: ([0, 2, 4, 6, 8, 10, 12, 14], 115), _SD: ([2, 6, 10, 14], 105),
              _CYM: ([0, 8], 100)},
    "backbeat": {_BD: ([0, 8, 11], 105), _SD: ([4, 12], 100),
                 _CHH: ([0, 2, 4, 6, 8, 10, 12, 14], 70), _TMB: ([4, 12], 60)},
    "steppers": {_BD: ([0, 4, 8, 12], 100), _RIM: ([8], 95), _CHH: ([2, 6, 10, 14], 70)},
    "straight_eighths": {_BD: ([0, 6, 8], 110), _SD: ([4, 12], 105),
                         _OHH: ([0, 2, 4, 6, 8, 10, 12, 14], 75), _CYM: ([0], 90)},
    "tom_groove": {_BD: ([0, 7, 8], 100), _LT: ([10, 14], 90), _HT: ([12], 85),
                   _CWB: ([4, 12], 70)},
}

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)
# Chord progressions as scale degrees (0-based), one chord per half bar.
CHORD_PLANS = {
    "quick_change": [0, 0, 3, 3, 0, 0, 0, 0, 3, 3, 3, 3, 0, 0, 0, 0, 4, 4, 3, 3, 0, 0, 4, 4],
    "plagal": [0, 0, 3, 3, 0, 0, 3, 3],
    "doo_wop": [0, 0, 5, 5, 3, 3, 4, 4],
    "turnaround": [0, 0, 0, 5, 1, 1, 4, 4],
    "aeolian": [0, 0, 6, 6, 5, 5, 6, 6],
    "minor_cadence": [0, 0, 0, 0, 3, 3, 4, 4],
    "circle": [0, 0, 3, 6, 2, 5, 4, 0],
    "lift": [0, 0, 3, 3, 5, 5, 4, 4],
    "rockers": [0, 0, 0, 0, 1, 1, 1, 1],
    "riff": [0, 0, 0, 3, 0, 0, 4, 3],
}


@dataclass(frozen=True)
class StyleFamily:
    """How one family of styles makes music.

    ``tempo`` is its range in BPM; ``major`` the probability of a major key; ``swing`` the
    delay of off-beat sixteenths as a fraction of a step; ``lead``, ``harmony``, ``bass``
    General MIDI programs in order of preference.
    """

    tempo: tuple
    major: float
    swing: float
    groove: str
    plans: tuple
    bass_rule: str
    comp: str
    lead: tuple
    harmony: tuple
    bass: tuple
    density: float
    sevenths: bool = False
    moods: dict = field(default_factory=dict)


FAMILIES = {
    "blues": StyleFamily((64, 104), 0.45, 0.33, "slow_shuffle", ("quick_change", "plagal"),
                         "walk_up", "stab", (29, 27, 22, 4), (0, 16, 26), (33, 32), 0.5, True,
                         {"Sad music": 0.5, "Tender music": 0.2}),
    "chamber": StyleFamily((58, 128), 0.55, 0.0, None, ("circle", "minor_cadence", "doo_wop"),
                           "pedal", "broken", (40, 73, 71, 68, 0), (48, 0, 46, 42),
                           (42, 43), 0.55, False, {"Tender music": 0.6, "Sad music": 0.3}),
    "folk": StyleFamily((88, 142), 0.85, 0.0, "train", ("plagal", "doo_wop"),
                        "root_fifth_octave", "strum", (105, 40, 22, 25), (25, 24, 0),
                        (32, 33), 0.5, False, {"Happy music": 0.6, "Tender music": 0.3}),
    "dance": StyleFamily((108, 130), 0.55, 0.0, "disco_pulse", ("lift", "aeolian"),
                         "octave_bounce", "pulse", (81, 48, 61, 80), (4, 48, 27), (38, 33),
                         0.5, True, {"Happy music": 0.5, "Exciting music": 0.6}),
    "beat": StyleFamily((78, 102), 0.25, 0.25, "lazy_beat", ("aeolian", "minor_cadence"),
                        "syncopated", "pad", (80, 4, 0), (89, 4, 0), (38, 33), 0.3, True,
                        {"Exciting music": 0.4, "Angry music": 0.4}),
    "swing": StyleFamily((100, 180), 0.7, 0.33, "ride_swing", ("turnaround", "circle"),
                         "walk_up", "shell", (66, 56, 65, 71, 26, 11), (0, 26), (32,), 0.6,
                         True, {"Tender music": 0.5, "Happy music": 0.4}),
    "heavy": StyleFamily((138, 200), 0.1, 0.0, "blast", ("riff", "aeolian"), "root_pump",
                         "power", (30, 29), (30, 29), (34, 33), 0.7, False,
                         {"Angry music": 0.8, "Scary music": 0.4}),
    "pop": StyleFamily((94, 126), 0.8, 0.0, "backbeat", ("lift", "doo_wop"), "root_fifth_octave",
                       "pulse", (80, 0, 52, 73), (0, 4, 89), (33, 38), 0.45, False,
                       {"Happy music": 0.7, "Exciting music": 0.3}),
    "island": StyleFamily((70, 96), 0.7, 0.1, "steppers", ("rockers", "plagal"), "dub",
                          "skank", (16, 27, 56), (27, 16), (33,), 0.35, False,
                          {"Happy music": 0.5, "Tender music": 0.4}),
    "rock": StyleFamily((100, 152), 0.6, 0.0, "straight_eighths", ("riff", "plagal", "lift"),
                        "root_pump", "power", (29, 27, 0), (29, 27), (34, 33), 0.5, False,
                        {"Exciting music": 0.6, "Angry music": 0.3}),
}

# Genre names (GTZAN, FMA, AudioSet), lower case without punctuation -> family.
GENRE_FAMILIES = {
    "blues": "blues", "rhythmandblues": "blues", "soul": "blues",
    "classical": "chamber", "classicalmusic": "chamber", "instrumental": "chamber",
    "newagemusic": "chamber", "experimental": "chamber", "orchestral": "chamber",
    "country": "folk", "folk": "folk", "folkmusic": "folk", "bluegrass": "folk",
    "disco": "dance", "electronic": "dance", "electronicmusic": "dance", "funk": "dance",
    "house": "dance", "techno": "dance",
    "hiphop": "beat", "hiphopmusic": "beat", "rap": "beat", "trap": "beat",
    "jazz": "swing", "swing": "swing",
    "metal": "heavy", "heavymetal": "heavy", "punk": "heavy", "punkrock": "heavy",
    "pop": "pop", "popmusic": "pop", "international": "pop",
    "reggae": "island", "ska": "island", "dub": "island",
    "rock": "rock", "rockmusic": "rock", "independentmusic": "rock", "indie": "rock",
}
MOOD_ENERGY = {"Happy music": 0.3, "Sad music": -0.6, "Tender music": -0.8,
               "Exciting music": 0.8, "Angry music": 1.0, "Scary music": 0.1}


def _family_of_program(program):
    return GM_FAMILIES[int(program) // 8]


def program_classes(program):
    """AudioSet instrument classes that describe a General MIDI ``program``."""
    program = int(program)
    family = _family_of_program(program)
    classes = [cls for cls, families in AUDIOSET_TO_GM.items() if family in families]
    if program in _SPECIFIC_CLASSES:
        classes.insert(0, _SPECIFIC_CLASSES[program])
    return classes


def family_of_genre(genre):
    """The style family of a genre name (``None`` when the composer does not know it)."""
    key = "".join(ch for ch in str(genre).lower() if ch.isalnum())
    return GENRE_FAMILIES.get(key, key if key in FAMILIES else None)


def key_name(tonic, major):
    """Human-readable key, e.g. ``key_name(9, False) == 'A minor'``."""
    return f"{NOTE_NAMES[int(tonic) % 12]} {'major' if major else 'minor'}"


@dataclass
class Piece:
    """A composed piece: its resolved attributes and its note events."""

    family: str
    tempo: float
    tonic: int
    major: bool
    programs: tuple
    drums: bool
    density: float
    energy: float
    plan: str
    events: list
    envelope: tuple = None
    loudness: float = None

    def describe(self):
        """The piece's musical attributes as a dict (for reports)."""
        return {"family": self.family, "tempo": round(self.tempo, 1),
                "key": key_name(self.tonic, self.major), "programs": list(self.programs),
                "drums": self.drums, "density": round(self.density, 2), "plan": self.plan}


def _as_distribution(value, name):
    """A ``{name: weight}`` dict from a name, an ordered list of names or a dict."""
    if value is None:
        return {}
    if isinstance(value, str):
        return {value: 1.0}
    if isinstance(value, dict):
        out = {str(k): float(v) for k, v in value.items()}
    else:
        out = {str(item): 1.0 / (rank + 1) for rank, item in enumerate(value)}
    if any(not np.isfinite(v) or v < 0 for v in out.values()):
        raise ValueError(f"{name} weights must be finite and non-negative; got {out}.")
    return out


def _check_range(value, name, low, high):
    value = float(value)
    if not (np.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name}={value!r} is outside [{low}, {high}].")
    return value


class Composer:
    """Compose and render General MIDI pieces from musical attributes.

    Parameters
    ----------
    sample_rate : int, default=22050
        Sample rate of the rendered waveforms.
    duration : float, default=15.0
        Length of a piece in seconds.
    fade : float, default=2.0
        Quarter-sine fade-in and fade-out (seconds), as the ds003720 stimuli.
    loudness : float, default=0.05
        Root mean square of a rendered piece, unless its attributes give ``loudness``.

    Notes
    -----
    Attributes (every key optional; the missing ones are drawn from the style family):

    - ``genre``: a genre name or ``{genre: probability}``; unknown names fall back to the
      ``"pop"`` family (``"chamber"`` when ``drums`` is false).
    - ``tempo``: BPM in [20, 300].
    - ``key``: tonic as an int 0-11 or a note name (``"F#"``); ``mode``: ``"major"`` or
      ``"minor"``.
    - ``instruments``: AudioSet classes as ``{class: probability}`` or a list, most salient
      first; they steer the choice of lead, harmony and bass programs; ``programs``:
      ``(lead, harmony, bass)`` General MIDI programs, used as given.
    - ``drums``: bool (default: the probability of a drum class in ``instruments`` > 0.5,
      else the family's habit).
    - ``density``: melody notes per eighth-note step, in [0, 1].
    - ``moods``: AudioSet moods as ``{mood: probability}`` or a list; they set the
      dynamics and, without ``mode``, lean the mode (happy: major, sad: minor).
    - ``envelope``: the tonal balance, mean log power (dB) in ``len(envelope)`` mel bands up to
      the Nyquist frequency (as :func:`band_envelope` measures it); the rendered piece is
      equalised to it, its level included (gains within +-18 dB).
    - ``loudness``: root mean square of the rendered piece (before an ``envelope``'s
      equaliser, which then sets the level).

    Examples
    --------
    >>> from skbrainmusic.composer import Composer
    >>> composer = Composer(sample_rate=8000, duration=2.0, fade=0.1)
    >>> piece = composer.compose({"genre": "jazz", "tempo": 120, "key": "F",
    ...                           "mode": "major"}, random_state=0)
    >>> piece.describe()["key"], piece.family
    ('F major', 'swing')
    >>> composer.render([piece]).shape
    (1, 16000)
    """

    def __init__(self, sample_rate=22050, duration=15.0, fade=2.0, loudness=0.05):
        self.sample_rate = sample_rate
        self.duration = duration
        self.fade = fade
        self.loudness = loudness

    # Attribute resolution -----------------------------------------------------------
    def _family(self, attributes, drums):
        genres = _as_distribution(attributes.get("genre"), "genre")
        weights = {}
        for genre, weight in genres.items():
            family = family_of_genre(genre)
            if family is not None:
                weights[family] = weights.get(family, 0.0) + weight
        if weights:
            return max(weights, key=weights.get)
        return "chamber" if drums is False else "pop"

    @staticmethod
    def _drums(attributes, instruments):
        if attributes.get("drums") is not None:
            return bool(attributes["drums"])
        present = [instruments[c] for c in DRUM_CLASSES if c in instruments]
        return bool(max(present) > 0.5) if present else None

    @staticmethod
    def _tonic(value):
        if isinstance(value, str):
            name = value.strip().upper().replace("♯", "#")
            flats = {"DB": "C#", "EB": "D#", "GB": "F#", "AB": "G#", "BB": "A#"}
            name = flats.get(name, name)
            if name not in NOTE_NAMES:
                raise ValueError(f"key={value!r} is not a note name (C, C#, ..., B).")
            return NOTE_NAMES.index(name)
        tonic = int(value)
        if tonic != value or not 0 <= tonic < 12:
            raise ValueError(f"key={value!r} must be a pitch class 0-11 or a note name.")
        return tonic

    def _programs(self, style, instruments, rng):
        if not instruments:
            lead = int(rng.choice(style.lead))
            others = [p for p in style.harmony if p != lead] or list(style.harmony)
            return lead, int(rng.choice(others)), int(rng.choice(style.bass))
        chosen = []
        for palette in (style.lead, style.harmony, style.bass):
            scores = {}
            for rank, program in enumerate(palette):
                belief = max((instruments.get(c, 0.0) for c in program_classes(program)),
                             default=0.0)
                scores[program] = (0.2 + belief) / (rank + 1.0)
            for program in chosen:
                scores.pop(program, None)
            chosen.append(max(scores, key=scores.get) if scores else palette[0])
        return tuple(int(p) for p in chosen)

    def compose(self, attributes, random_state=None):
        """Write a piece from musical attributes (see the class Notes).

        Parameters
        ----------
        attributes : dict
            Musical attributes; every key is optional.
        random_state : int, RandomState instance or None, default=None
            Seed of the choices the attributes leave open (melody, unspecified attributes).

        Returns
        -------
        piece : Piece
        """
        if not isinstance(attributes, dict):
            raise TypeError(f"attributes must be a dict, got {type(attributes).__name__}.")
        rng = check_random_state(random_state)
        instruments = _as_distribution(attributes.get("instruments"), "instruments")
        drums = self._drums(attributes, instruments)
        family = self._family(attributes, drums)
        style = FAMILIES[family]
        if drums is None:
            drums = style.groove is not None
        moods = _as_distribution(attributes.get("moods"), "moods")
        if moods:
            total = sum(moods.values()) or 1.0
            energy = sum(MOOD_ENERGY.get(m, 0.0) * w for m, w in moods.items()) / total
        else:
            energy = sum(MOOD_ENERGY.get(m, 0.0) * w for m, w in style.moods.items())
        tempo = attributes.get("tempo")
        tempo = (_check_range(tempo, "tempo", 20.0, 300.0) if tempo is not None
                 else float(rng.uniform(*style.tempo)))
        tonic = (self._tonic(attributes["key"]) if attributes.get("key") is not None
                 else int(rng.randint(12)))
        mode = attributes.get("mode")
        if mode is not None:
            if mode not in ("major", "minor"):
                raise ValueError(f"mode must be 'major' or 'minor'; got {mode!r}.")
            major = mode == "major"
        else:
            lean = 0.25 * (moods.get("Happy music", 0.0) - moods.get("Sad music", 0.0))
            major = bool(rng.random_sample() < np.clip(style.major + lean, 0.02, 0.98))
        programs = attributes.get("programs")
        if programs is not None:
            programs = tuple(int(p) for p in programs)
            if len(programs) != 3 or not all(0 <= p < 128 for p in programs):
                raise ValueError(f"programs must be 3 General MIDI programs (lead, harmony, "
                                 f"bass) in 0-127; got {programs}.")
        else:
            programs = self._programs(style, instruments, rng)
        density = attributes.get("density")
        density = (_check_range(density, "density", 0.0, 1.0) if density is not None
                   else float(np.clip(style.density + rng.normal(0.0, 0.08), 0.1, 0.9)))
        plan = str(style.plans[rng.randint(len(style.plans))])
        envelope = attributes.get("envelope")
        if envelope is not None:
            envelope = tuple(float(v) for v in np.ravel(envelope))
            if len(envelope) < 2 or not np.all(np.isfinite(envelope)):
                raise ValueError(f"envelope must hold at least 2 finite band powers (dB); got "
                                 f"{attributes['envelope']!r}.")
        loudness = attributes.get("loudness")
        if loudness is not None:
            loudness = _check_range(loudness, "loudness", 1e-4, 1.0)
        piece = Piece(family=family, tempo=tempo, tonic=tonic, major=major, programs=programs,
                      drums=drums, density=density, energy=float(np.clip(energy, -1, 1)),
                      plan=plan, events=[], envelope=envelope, loudness=loudness)
        piece.events = _write_events(piece, style, self.duration, rng)
        return piece

    # Rendering ------------------------------------------------------------------------
    def render(self, pieces):
        """Waveforms ``(n_pieces, n_samples)`` float32 of composed pieces, faded and
        normalised to their loudness.

        Parameters
        ----------
        pieces : list of Piece

        Returns
        -------
        audio : ndarray of shape (n_pieces, n_samples)
        """
        from .datasets._music import Renderer

        renderer = Renderer(self.sample_rate)
        n_samples = int(round(self.duration * self.sample_rate))
        audio = np.empty((len(pieces), n_samples), np.float32)
        for i, piece in enumerate(pieces):
            wave = renderer.render_events(piece.programs, piece.events, self.duration)
            rms = self.loudness if piece.loudness is None else piece.loudness
            wave = prepare_clips(wave, self.sample_rate, fade=self.fade, target_rms=rms)
            if piece.envelope is not None:
                # After the fades, as the envelope was measured on faded clips; the
                # equaliser then sets the level as well as the shape.
                wave = _equalise(wave, self.sample_rate, np.asarray(piece.envelope))
            audio[i] = wave
        return audio

    def generate(self, attributes, random_state=None):
        """Compose and render one piece per attribute dict.

        Parameters
        ----------
        attributes : list of dict
        random_state : int, RandomState instance or None, default=None

        Returns
        -------
        audio : ndarray of shape (n_pieces, n_samples)
        """
        rng = check_random_state(random_state)
        pieces = [self.compose(a, rng.randint(2**31 - 1)) for a in attributes]
        return self.render(pieces)


def _chord(degree, scale, sevenths):
    tones = [scale[(degree + k) % 7] + 12 * ((degree + k) // 7) for k in (0, 2, 4)]
    if sevenths:
        tones.append(scale[(degree + 6) % 7] + 12 * ((degree + 6) // 7))
    return tones


def _bass_line(rule, chord, next_root):
    """``(step, semitones above the chord root, length in steps)`` of one bar's bass."""
    third, fifth = chord[1] - chord[0], chord[2] - chord[0]
    if rule == "walk_up":
        approach = next_root - 1 if next_root > 0 else next_root + 1
        return [(0, 0, 4), (4, third, 4), (8, fifth, 4), (12, approach, 4)]
    if rule == "root_fifth_octave":
        return [(0, 0, 5), (6, fifth, 2), (8, 12, 5), (14, fifth, 2)]
    if rule == "octave_bounce":
        return [(s, 12 if s % 4 == 3 else 0, 1) for s in (0, 3, 4, 7, 8, 11, 12, 15)]
    if rule == "syncopated":
        return [(0, 0, 3), (3, 0, 2), (7, fifth, 2), (10, 0, 4)]
    if rule == "dub":
        return [(0, 0, 3), (3, 0, 2), (8, fifth, 3), (11, third, 3)]
    if rule == "root_pump":
        return [(s, 0, 1) for s in range(0, 16, 2)]
    return [(0, 0, 15), (8, 12, 7)]  # pedal


def _comp_hits(comp, chord, root):
    """``(step, notes, length in steps, velocity)`` of one half bar's accompaniment.

    ``chord`` holds the chord tones in semitones above the chord's own root ``root``.
    """
    close = [root + 12 + t for t in chord]
    if comp == "stab":
        inverted = close[1:] + [close[0] + 12]
        return [(4, inverted, 1, 80)]
    if comp == "broken":
        low, mid, high = close[0], close[1], close[2]
        return [(s, [n], 2, 62) for s, n in zip((0, 2, 4, 6), (low, high, mid, high))]
    if comp == "shell":
        return [(0, [root, root + chord[1] + 12, root + chord[-1] + 12], 3, 70),
                (6, [root + chord[1] + 12, root + chord[-1] + 12], 2, 62)]
    if comp == "pulse":
        inverted = [close[2] - 12] + close[:2]
        return [(s, inverted, 1, 66) for s in (0, 2, 4, 6)]
    if comp == "power":
        return [(s, [root, root + 7, root + 12], 1, 88) for s in (0, 2, 4, 6)]
    if comp == "skank":
        return [(4, close, 0.6, 78)]
    if comp == "strum":
        return [(s, close, 2, 72) for s in (0, 6)]
    spread = [root, root + chord[2], root + chord[1] + 12]  # pad
    return [(0, spread, 8, 58)]


def _clamp(value, low, high):
    """``value`` within ``[low, high]``: ``np.clip``'s result on a scalar, without its 10 us
    of array machinery (a piece has thousands of notes)."""
    return min(max(value, low), high)


def _write_events(piece, style, duration, rng):
    """Note events ``(time_s, channel, key, velocity, duration_s)`` of a piece."""
    step = 60.0 / piece.tempo / 4
    swing = style.swing * step
    scale = MAJOR_SCALE if piece.major else MINOR_SCALE
    plan = CHORD_PLANS[piece.plan]
    root = 45 + (piece.tonic + 3) % 12  # tonic between A2 and G#3
    n_bars = int(np.ceil(duration / (16 * step))) + 1
    dynamics = int(round(12 * piece.energy))
    events = []

    def at(bar, s):
        # Swing delays the off-beat eighths, and the sixteenths between them by half as much.
        late = swing if s % 4 == 2 else 0.5 * swing if s % 2 == 1 else 0.0
        return (bar * 16 + s) * step + late

    # A one-bar melodic motif (rhythm and contour), varied from bar to bar.
    motif_steps = [s for s in range(0, 16, 2) if rng.random_sample() < piece.density] or [0]
    motif_moves = rng.randint(-2, 3, size=len(motif_steps))
    position = 7
    for bar in range(n_bars):
        for half in range(2):
            index = (2 * bar + half) % len(plan)
            degree = plan[index]
            chord = _chord(degree, scale, style.sevenths)
            chord_root = root + scale[degree]
            # Chord tones above the chord root (``_chord`` gives them above the tonic).
            voiced = [t - scale[degree] for t in chord]
            for s, notes, length, velocity in _comp_hits(style.comp, voiced, chord_root):
                for k, note in enumerate(notes):
                    # Strummed chords roll their strings 12 ms apart.
                    offset = 0.012 * k if style.comp == "strum" else 0.0
                    events.append((at(bar, 8 * half + s) + offset, 1, int(note),
                                   _clamp(velocity + dynamics, 30, 127), length * step))
        degree = plan[(2 * bar) % len(plan)]
        chord = _chord(degree, scale, style.sevenths)
        next_degree = plan[(2 * bar + 2) % len(plan)]
        next_root = scale[next_degree] - scale[degree]
        for s, interval, length in _bass_line(style.bass_rule, chord, next_root):
            events.append((at(bar, s), 2, int(root - 12 + scale[degree] + interval),
                           _clamp(96 + dynamics, 30, 127), length * step * 0.9))
        vary = rng.random_sample() < 0.35
        for s, move in zip(motif_steps, motif_moves):
            half_chord = _chord(plan[(2 * bar + s // 8) % len(plan)], scale, style.sevenths)
            if s % 8 == 0:
                # Strong beats land on a chord tone.
                pitch_class = half_chord[rng.randint(len(half_chord))] % 12
                position = min(range(14), key=lambda p: abs(scale[p % 7] % 12 - pitch_class)
                               + 0.3 * abs(p - position))
            else:
                position = int(_clamp(position + move + (rng.randint(-1, 2) if vary else 0), 0, 13))
            pitch = root + 12 + scale[position % 7] + 12 * (position // 7)
            length = float(rng.choice([2, 2, 3, 4]))
            velocity = int(_clamp(rng.randint(84, 112) + dynamics, 30, 127))
            events.append((at(bar, s), 0, int(pitch), velocity, length * step * 0.9))
        if piece.drums and style.groove is not None:
            for drum, (steps, velocity) in GROOVES[style.groove].items():
                for s in steps:
                    accent = 0 if s % 4 == 0 else -12
                    events.append((at(bar, s), 9, drum,
                                   _clamp(velocity + accent + dynamics, 30, 127),
                                   step * 0.9))
    return [e for e in events if 0.0 <= e[0] < duration]


# The frames of band_envelope: 2048 samples every 1024, and its default floor (dB).
_BAND_N_FFT, _BAND_HOP = 2048, 1024
_BAND_TOP_DB = 80.0


def band_envelope(audio, sample_rate, n_bands=16, top_db=_BAND_TOP_DB):
    """Tonal balance: mean log power (dB) of waveforms in ``n_bands`` mel bands.

    The mean over frames is taken of the log power (as log-mel embeddings see it), so an
    equaliser gain of ``g`` dB in a band moves that band's value by exactly ``g``.

    Parameters
    ----------
    audio : array-like of shape (n_clips, n_samples)
    sample_rate : int
    n_bands : int, default=16
    top_db : float, default=80.0
        Floor of every frame's band power, below the clip's loudest band frame (silent
        frames would otherwise dominate the mean).

    Returns
    -------
    envelope : ndarray of shape (n_clips, n_bands)
    """
    from .embeddings._librosa import stft_power

    audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    filters = _band_filters(sample_rate, n_bands)
    bands = np.empty((len(audio), n_bands))
    # A few clips at a time: the spectrogram of a whole corpus would not fit in memory.
    for start in range(0, len(audio), 8):
        power = stft_power(audio[start:start + 8], _BAND_N_FFT, _BAND_HOP, center=True)
        bands[start:start + 8] = _band_levels(power, filters, top_db)
    return bands


@functools.lru_cache(maxsize=8)
def _band_filters(sample_rate, n_bands):
    """The mel filter bank ``(n_bands, 1 + _BAND_N_FFT // 2)`` (float32, read-only: it is
    shared) of :func:`band_envelope`."""
    import librosa

    filters = librosa.filters.mel(sr=sample_rate, n_fft=_BAND_N_FFT, n_mels=n_bands,
                                  fmax=sample_rate / 2.0)
    filters.flags.writeable = False
    return filters


def _band_levels(power, filters, top_db):
    """:func:`band_envelope` ``(n_clips, n_bands)`` of power spectrograms
    ``(n_clips, 1 + _BAND_N_FFT // 2, n_frames)`` (librosa's STFT, ``_BAND_N_FFT`` samples
    every ``_BAND_HOP``), given the filters of :func:`_band_filters`."""
    db = 10.0 * np.log10(np.maximum(np.einsum("bf,cft->cbt", filters, power), 1e-12))
    floor = db.max(axis=(1, 2), keepdims=True) - top_db
    return np.maximum(db, floor).mean(axis=-1)


def _equalise(wave, sample_rate, target, max_gain=18.0):
    """Equalise ``wave`` so that its band envelope becomes ``target`` (dB).

    The level follows too (the mean gain, within ``max_gain``): a piece whose notes sound
    more continuously than another's has a higher mean log power at the same RMS, and log-mel
    features see the mean log power.
    """
    import librosa

    own = band_envelope(wave[None], sample_rate, len(target))[0]
    gain = target - own
    level = np.clip(gain.mean(), -max_gain, max_gain)
    gain = level + np.clip(gain - gain.mean(), -max_gain, max_gain)
    centres = librosa.mel_frequencies(n_mels=len(target) + 2, fmax=sample_rate / 2.0)[1:-1]
    spectrum = np.fft.rfft(wave.astype(np.float64))
    frequencies = np.fft.rfftfreq(len(wave), 1.0 / sample_rate)
    gain_db = np.interp(frequencies, centres, gain)
    return np.fft.irfft(spectrum * 10.0 ** (gain_db / 20.0), n=len(wave)).astype(np.float32)
