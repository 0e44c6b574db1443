"""Genre-styled music scores and their General MIDI rendering (the synthetic stimuli).

Ten styles, one per GTZAN genre, differ in tempo, groove (drum pattern, swing), harmony
(progression, mode, voicing), instrumentation and mood. A clip's score is drawn from its
genre's style with a per-clip generator, rendered through the General MIDI soundfont that
pretty_midi ships (``TimGM6mb.sf2``) by ``tinysoundfont``, and prepared like the ds003720
stimuli (15 s, 22,050 Hz, quarter-sine fades, RMS normalisation).
"""

from pathlib import Path

import numpy as np

from ._audio import CLIP_DURATION, SAMPLE_RATE, prepare_clips

GENRES = (
    "blues", "classical", "country", "disco", "hiphop",
    "jazz", "metal", "pop", "reggae", "rock",
)
MOODS = ("Happy music", "Sad music", "Tender music", "Exciting music", "Angry music", "Scary music")

# The AudioSet genre classes (A.1.6) closest to each GTZAN genre, most specific first.
# Heavy metal is not one of the paper's 25 genre classes; its AudioSet parent is Rock music.
AUDIOSET_GENRES = {
    "blues": ["Blues", "Rhythm and blues"],
    "classical": ["Classical music", "New-age music"],
    "country": ["Country", "Folk music"],
    "disco": ["Disco", "Funk"],
    "hiphop": ["Hip hop music", "Electronic music"],
    "jazz": ["Jazz", "Blues"],
    "metal": ["Rock music", "Independent music"],
    "pop": ["Pop music", "Electronic music"],
    "reggae": ["Reggae", "Ska"],
    "rock": ["Rock music", "Pop music"],
}

# General MIDI program -> (AudioSet instrument class of A.1.6, name used in captions).
INSTRUMENTS = {
    0: ("Keyboard (musical)", "piano"),
    4: ("Keyboard (musical)", "electric piano"),
    11: ("Percussion", "vibraphone"),
    16: ("Keyboard (musical)", "organ"),
    21: ("Accordion", "accordion"),
    22: ("Harmonica", "harmonica"),
    24: ("Plucked string instrument", "nylon guitar"),
    25: ("Plucked string instrument", "acoustic guitar"),
    26: ("Plucked string instrument", "jazz guitar"),
    27: ("Plucked string instrument", "clean electric guitar"),
    29: ("Plucked string instrument", "overdriven guitar"),
    30: ("Plucked string instrument", "distorted guitar"),
    32: ("Plucked string instrument", "wood bass"),
    33: ("Plucked string instrument", "electric bass"),
    34: ("Plucked string instrument", "picked bass"),
    38: ("Keyboard (musical)", "synth bass"),
    40: ("Bowed string instrument", "violin"),
    42: ("Bowed string instrument", "cello"),
    43: ("Bowed string instrument", "double bass"),
    46: ("Harp", "harp"),
    48: ("Bowed string instrument", "string section"),
    52: ("Choir", "choir"),
    56: ("Brass instrument", "trumpet"),
    57: ("Brass instrument", "trombone"),
    60: ("Brass instrument", "french horn"),
    61: ("Brass instrument", "brass section"),
    65: ("Wind instrument, woodwind instrument", "alto saxophone"),
    66: ("Wind instrument, woodwind instrument", "tenor saxophone"),
    68: ("Wind instrument, woodwind instrument", "oboe"),
    71: ("Wind instrument, woodwind instrument", "clarinet"),
    73: ("Wind instrument, woodwind instrument", "flute"),
    80: ("Keyboard (musical)", "square-wave synthesizer"),
    81: ("Keyboard (musical)", "sawtooth synthesizer"),
    89: ("Keyboard (musical)", "warm synth pad"),
    105: ("Plucked string instrument", "banjo"),
}
PERCUSSION = "Percussion"
ORCHESTRA = "Orchestra"

KICK, SIDE_STICK, SNARE, CLAP, CLOSED_HAT, PEDAL_HAT, OPEN_HAT, CRASH, RIDE, TAMBOURINE = (
    36, 37, 38, 39, 42, 44, 46, 49, 51, 54)

# One bar = 16 steps (sixteenth notes): drum -> steps.
DRUM_PATTERNS = {
    "shuffle": {KICK: [0, 8], SNARE: [4, 12], CLOSED_HAT: [0, 2, 4, 6, 8, 10, 12, 14]},
    "two_beat": {KICK: [0, 8], SIDE_STICK: [4, 12], CLOSED_HAT: [2, 6, 10, 14]},
    "four_on_floor": {KICK: [0, 4, 8, 12], CLAP: [4, 12], OPEN_HAT: [2, 6, 10, 14],
                      TAMBOURINE: [1, 3, 5, 7, 9, 11, 13, 15]},
    "boom_bap": {KICK: [0, 7, 10], SNARE: [4, 12], CLOSED_HAT: [0, 2, 4, 6, 8, 10, 12, 14]},
    "swing_ride": {RIDE: [0, 4, 6, 8, 12, 14], PEDAL_HAT: [4, 12], KICK: [0]},
    "double_kick": {KICK: list(range(16)), SNARE: [4, 12], CRASH: [0], RIDE: [0, 4, 8, 12]},
    "pop": {KICK: [0, 6, 8], SNARE: [4, 12], CLAP: [12],
            CLOSED_HAT: [0, 2, 4, 6, 8, 10, 12, 14]},
    "one_drop": {KICK: [8], SIDE_STICK: [8], CLOSED_HAT: [0, 2, 4, 6, 8, 10, 12, 14]},
    "rock": {KICK: [0, 8, 10], SNARE: [4, 12], CLOSED_HAT: [0, 2, 4, 6, 8, 10, 12, 14],
             CRASH: [0]},
}

# Bass figures: (step, semitones above the chord root).
BASS_PATTERNS = {
    "root_beats": [(0, 0), (8, 0)],
    "root_fifth": [(0, 0), (8, 7)],
    "octaves": [(s, 12 * (s // 2 % 2)) for s in range(0, 16, 2)],
    "eighths": [(s, 0) for s in range(0, 16, 2)],
    "walking": [(0, 0), (4, 4), (8, 7), (12, 11)],
    "reggae": [(0, 0), (6, 0), (10, 7)],
    "boom": [(0, 0), (7, 0), (10, -5)],
    "held": [(0, 0)],
}

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
# Chord progressions as scale degrees (0-based), one chord a bar.
PROGRESSIONS = {
    "twelve_bar": [0, 0, 0, 0, 3, 3, 0, 0, 4, 3, 0, 4],
    "one_four_five": [0, 3, 4, 0],
    "axis": [0, 4, 5, 3],
    "two_five_one": [1, 4, 0, 0],
    "descending": [0, 6, 5, 4],
    "minor_loop": [0, 5, 2, 6],
    "power": [0, 0, 5, 6],
    "skank": [0, 3, 0, 4],
}

STYLES = {
    "blues": dict(tempo=(60, 100), major=0.5, swing=True, drums="shuffle",
                  progressions=["twelve_bar"], lead=[29, 27, 22, 0], harmony=[0, 16, 27],
                  comp="strum", bass=[33, 32], bass_pattern="walking", seventh=True,
                  density=0.45, moods={"Sad music": 0.6, "Tender music": 0.3}),
    "classical": dict(tempo=(60, 130), major=0.55, swing=False, drums=None,
                      progressions=["one_four_five", "descending", "minor_loop"],
                      lead=[40, 73, 68, 0, 71], harmony=[48, 0, 46, 60], comp="arpeggio",
                      bass=[42, 43], bass_pattern="held", seventh=False, density=0.55,
                      moods={"Tender music": 0.6, "Sad music": 0.3, "Scary music": 0.1}),
    "country": dict(tempo=(90, 140), major=0.9, swing=False, drums="two_beat",
                    progressions=["one_four_five", "axis"], lead=[105, 40, 25, 22],
                    harmony=[25, 0, 24], comp="strum", bass=[32, 33], bass_pattern="root_fifth",
                    seventh=False, density=0.5, moods={"Happy music": 0.6, "Tender music": 0.3}),
    "disco": dict(tempo=(110, 130), major=0.6, swing=False, drums="four_on_floor",
                  progressions=["axis", "minor_loop"], lead=[48, 81, 61, 52],
                  harmony=[4, 48, 27], comp="offbeat", bass=[38, 33], bass_pattern="octaves",
                  seventh=True, density=0.5, moods={"Happy music": 0.6, "Exciting music": 0.6}),
    "hiphop": dict(tempo=(80, 100), major=0.2, swing=True, drums="boom_bap",
                   progressions=["minor_loop", "power"], lead=[80, 0, 4], harmony=[89, 4, 0],
                   comp="block", bass=[38, 33], bass_pattern="boom", seventh=True, density=0.3,
                   moods={"Exciting music": 0.4, "Angry music": 0.5, "Scary music": 0.2}),
    "jazz": dict(tempo=(100, 180), major=0.7, swing=True, drums="swing_ride",
                 progressions=["two_five_one"], lead=[66, 56, 65, 71, 26, 11], harmony=[0, 26],
                 comp="block", bass=[32], bass_pattern="walking", seventh=True, density=0.6,
                 moods={"Tender music": 0.5, "Happy music": 0.4}),
    "metal": dict(tempo=(140, 200), major=0.05, swing=False, drums="double_kick",
                  progressions=["power", "minor_loop"], lead=[30, 29], harmony=[30],
                  comp="power", bass=[34], bass_pattern="eighths", seventh=False, density=0.7,
                  moods={"Angry music": 0.8, "Scary music": 0.5, "Exciting music": 0.4}),
    "pop": dict(tempo=(95, 125), major=0.8, swing=False, drums="pop",
                progressions=["axis", "one_four_five"], lead=[80, 0, 52, 73], harmony=[0, 4, 89],
                comp="strum", bass=[33, 38], bass_pattern="root_beats", seventh=False,
                density=0.45, moods={"Happy music": 0.7, "Exciting music": 0.3}),
    "reggae": dict(tempo=(70, 95), major=0.7, swing=False, drums="one_drop",
                   progressions=["skank", "one_four_five"], lead=[16, 27, 56], harmony=[27, 16],
                   comp="offbeat", bass=[33], bass_pattern="reggae", seventh=False, density=0.35,
                   moods={"Happy music": 0.5, "Tender music": 0.4}),
    "rock": dict(tempo=(100, 150), major=0.6, swing=False, drums="rock",
                 progressions=["one_four_five", "power", "axis"], lead=[29, 27, 0],
                 harmony=[29, 27], comp="power", bass=[34, 33], bass_pattern="eighths",
                 seventh=False, density=0.5, moods={"Exciting music": 0.6, "Angry music": 0.3}),
}

# The held-out world: music the default world never plays, for an evaluation that is not
# circular. Its grooves, progressions, bass figures, accompaniment rhythms and voicings are
# none of the default world's; its General MIDI programs are outside the 35 that the default
# styles use; each clip then goes through a post-render channel (reverb, equaliser, detune).
LOW_TOM, HIGH_TOM, COWBELL, SHAKER = 41, 48, 56, 70
HELDOUT_DRUM_PATTERNS = {
    "triplet_ride": {KICK: [0, 10], SNARE: [4, 12], RIDE: [0, 3, 6, 8, 11, 14]},
    "brush_train": {KICK: [0, 8], SNARE: [2, 6, 10, 14], PEDAL_HAT: [4, 12]},
    "hustle": {KICK: [0, 4, 8, 12], SNARE: [4, 12], OPEN_HAT: [3, 7, 11, 15],
               CLOSED_HAT: [1, 5, 9, 13]},
    "trap": {KICK: [0, 6, 9, 14], CLAP: [8], CLOSED_HAT: list(range(16))},
    "brushes": {RIDE: [0, 3, 4, 8, 11, 12], PEDAL_HAT: [4, 12], SIDE_STICK: [14]},
    "gallop": {KICK: [0, 3, 4, 8, 11, 12], SNARE: [4, 12], CRASH: [0, 8]},
    "half_time": {KICK: [0, 10], SNARE: [8], CLOSED_HAT: [0, 4, 8, 12],
                  TAMBOURINE: [2, 6, 10, 14]},
    "steppers_rim": {KICK: [0, 4, 8, 12], SIDE_STICK: [6, 14], OPEN_HAT: [2, 10]},
    "floor_tom": {KICK: [0, 8, 9], SNARE: [4, 12], LOW_TOM: [0, 2, 4, 6, 8, 10, 12, 14],
                  COWBELL: [0, 8]},
    "timpani_roll": {LOW_TOM: [0, 1, 2, 3], HIGH_TOM: [8], SHAKER: [12]},
}
HELDOUT_BASS_PATTERNS = {
    "dotted": [(0, 0), (3, 0), (6, 7), (8, 0), (11, 12)],
    "tresillo": [(0, 0), (6, 0), (12, 7)],
    "climb": [(0, 0), (4, 2), (8, 4), (12, 5)],
    "descend": [(0, 12), (4, 7), (8, 4), (12, 0)],
    "pedal_eighths": [(s, 12 if s == 14 else 0) for s in range(0, 16, 2)],
    "sustain_low": [(0, 0), (8, -5)],
}
HELDOUT_PROGRESSIONS = {
    "eight_bar": [0, 3, 0, 0, 4, 3, 0, 4],
    "canon": [0, 4, 5, 2, 3, 0, 3, 4],
    "mixolydian": [0, 6, 3, 0],
    "two_five_six": [1, 4, 5, 5],
    "minor_plagal": [0, 3, 3, 0],
    "stepwise": [0, 1, 2, 3],
    "dorian": [0, 3],
    "six_two": [5, 1, 4, 0],
}
# Accompaniment rhythms of both worlds: comp -> (step, length in steps) of one bar.
COMP_RHYTHMS = {
    "block": [(0, 16)],
    "strum": [(s, 3) for s in (0, 4, 8, 12)],
    "offbeat": [(s, 1.5) for s in (2, 6, 10, 14)],
    "power": [(s, 1.8) for s in range(0, 16, 2)],
    "arpeggio": [(s, 2) for s in range(0, 16, 2)],
    "charleston": [(0, 3), (6, 2), (8, 3), (14, 2)],
    "tresillo": [(0, 3), (6, 3), (12, 4)],
    "swell": [(0, 7), (8, 7)],
    "cascade": [(s, 1) for s in range(0, 16)],
}
# Chord voicings, as semitones above the accompaniment's root: (chord tones) -> notes.
VOICINGS = {
    "close": lambda chord: list(chord),
    "open": lambda chord: [chord[0] - 12, chord[2] - 12, chord[1]] + list(chord[3:]),
    "quartal": lambda chord: [chord[0], chord[0] + 5, chord[0] + 10, chord[0] + 15],
    "sus2": lambda chord: [chord[0], chord[0] + 2, chord[2]],
    "add9": lambda chord: [chord[0], chord[1], chord[2], chord[0] + 14],
}
HELDOUT_STYLES = {
    "blues": dict(tempo=(60, 100), major=0.5, swing=True, drums="triplet_ride",
                  progressions=["eight_bar"], lead=[28, 64, 3], harmony=[3, 18],
                  comp="charleston", voicing="add9", bass=[35, 36], bass_pattern="dotted",
                  seventh=True, density=0.45, moods={"Sad music": 0.6, "Tender music": 0.3}),
    "classical": dict(tempo=(60, 130), major=0.55, swing=False, drums=None,
                      progressions=["canon", "two_five_six", "six_two"],
                      lead=[41, 72, 69, 6, 70], harmony=[49, 6, 45, 44], comp="cascade",
                      voicing="open", bass=[70, 58], bass_pattern="sustain_low",
                      seventh=False, density=0.55, orchestral=(49, 44),
                      moods={"Tender music": 0.6, "Sad music": 0.3, "Scary music": 0.1}),
    "country": dict(tempo=(90, 140), major=0.9, swing=False, drums="brush_train",
                    progressions=["mixolydian", "eight_bar"], lead=[110, 28, 23],
                    harmony=[3, 45, 31], comp="tresillo", voicing="sus2", bass=[35, 37],
                    bass_pattern="climb", seventh=False, density=0.5,
                    moods={"Happy music": 0.6, "Tender music": 0.3}),
    "disco": dict(tempo=(110, 130), major=0.6, swing=False, drums="hustle",
                  progressions=["canon", "dorian"], lead=[50, 62, 82], harmony=[5, 50, 7],
                  comp="charleston", voicing="add9", bass=[36, 39], bass_pattern="dotted",
                  seventh=True, density=0.5, moods={"Happy music": 0.6, "Exciting music": 0.6}),
    "hiphop": dict(tempo=(80, 100), major=0.2, swing=True, drums="trap",
                   progressions=["dorian", "minor_plagal"], lead=[84, 8, 108],
                   harmony=[88, 5, 12], comp="swell", voicing="quartal", bass=[39, 87],
                   bass_pattern="tresillo", seventh=True, density=0.3,
                   moods={"Exciting music": 0.4, "Angry music": 0.5, "Scary music": 0.2}),
    "jazz": dict(tempo=(100, 180), major=0.7, swing=True, drums="brushes",
                 progressions=["six_two", "two_five_six"], lead=[64, 59, 67, 13, 28],
                 harmony=[5, 2], comp="charleston", voicing="quartal", bass=[35],
                 bass_pattern="climb", seventh=True, density=0.6,
                 moods={"Tender music": 0.5, "Happy music": 0.4}),
    "metal": dict(tempo=(140, 200), major=0.05, swing=False, drums="gallop",
                  progressions=["minor_plagal", "stepwise"], lead=[84, 31], harmony=[18, 87],
                  comp="cascade", voicing="open", bass=[37, 39], bass_pattern="pedal_eighths",
                  seventh=False, density=0.7,
                  moods={"Angry music": 0.8, "Scary music": 0.5, "Exciting music": 0.4}),
    "pop": dict(tempo=(95, 125), major=0.8, swing=False, drums="half_time",
                progressions=["canon", "mixolydian"], lead=[82, 1, 53, 74], harmony=[1, 5, 88],
                comp="tresillo", voicing="add9", bass=[37, 39], bass_pattern="descend",
                seventh=False, density=0.45, moods={"Happy music": 0.7, "Exciting music": 0.3}),
    "reggae": dict(tempo=(70, 95), major=0.7, swing=False, drums="steppers_rim",
                   progressions=["dorian", "mixolydian"], lead=[17, 59, 12], harmony=[18, 7],
                   comp="charleston", voicing="sus2", bass=[35], bass_pattern="tresillo",
                   seventh=False, density=0.35, moods={"Happy music": 0.5, "Tender music": 0.4}),
    "rock": dict(tempo=(100, 150), major=0.6, swing=False, drums="floor_tom",
                 progressions=["mixolydian", "stepwise", "eight_bar"], lead=[18, 84, 1],
                 harmony=[18, 31], comp="swell", voicing="open", bass=[36, 37],
                 bass_pattern="pedal_eighths", seventh=False, density=0.5,
                 moods={"Exciting music": 0.6, "Angry music": 0.3}),
}
# The held-out programs' AudioSet classes (all among the default world's classes, so the
# simulated brain's semantic latent keeps its layout) and caption names.
INSTRUMENTS.update({
    1: ("Keyboard (musical)", "bright piano"), 2: ("Keyboard (musical)", "electric grand"),
    3: ("Keyboard (musical)", "honky-tonk piano"), 5: ("Keyboard (musical)", "chorus piano"),
    6: ("Keyboard (musical)", "harpsichord"), 7: ("Keyboard (musical)", "clavinet"),
    8: ("Percussion", "celesta"), 12: ("Percussion", "marimba"), 13: ("Percussion", "xylophone"),
    17: ("Keyboard (musical)", "percussive organ"), 18: ("Keyboard (musical)", "rock organ"),
    23: ("Accordion", "tango accordion"), 28: ("Plucked string instrument", "muted guitar"),
    31: ("Plucked string instrument", "guitar harmonics"),
    35: ("Plucked string instrument", "fretless bass"),
    36: ("Plucked string instrument", "slap bass"), 37: ("Plucked string instrument", "funk bass"),
    39: ("Keyboard (musical)", "analog synth bass"), 41: ("Bowed string instrument", "viola"),
    44: ("Bowed string instrument", "tremolo strings"),
    45: ("Bowed string instrument", "pizzicato strings"),
    49: ("Bowed string instrument", "slow strings"), 50: ("Keyboard (musical)", "synth strings"),
    53: ("Choir", "voice oohs"), 58: ("Brass instrument", "tuba"),
    59: ("Brass instrument", "muted trumpet"), 62: ("Brass instrument", "synth brass"),
    64: ("Wind instrument, woodwind instrument", "soprano saxophone"),
    67: ("Wind instrument, woodwind instrument", "baritone saxophone"),
    69: ("Wind instrument, woodwind instrument", "english horn"),
    70: ("Wind instrument, woodwind instrument", "bassoon"),
    72: ("Wind instrument, woodwind instrument", "piccolo"),
    74: ("Wind instrument, woodwind instrument", "recorder"),
    82: ("Keyboard (musical)", "calliope lead"), 84: ("Keyboard (musical)", "charang lead"),
    87: ("Keyboard (musical)", "bass and lead synth"), 88: ("Keyboard (musical)", "new age pad"),
    108: ("Percussion", "kalimba"), 110: ("Bowed string instrument", "fiddle"),
})
WORLDS = {
    "default": dict(styles=STYLES, drums=DRUM_PATTERNS, bass=BASS_PATTERNS,
                    progressions=PROGRESSIONS),
    "heldout": dict(styles=HELDOUT_STYLES, drums=HELDOUT_DRUM_PATTERNS,
                    bass=HELDOUT_BASS_PATTERNS, progressions=HELDOUT_PROGRESSIONS),
}

_PENTATONIC_MAJOR = (0, 2, 4, 7, 9)
_PENTATONIC_MINOR = (0, 3, 5, 7, 10)
_TAIL = 1.0  # seconds rendered past the clip so that notes ring across its end


def _soundfont_path():
    import pretty_midi

    return Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"


def _import_tinysoundfont():
    try:
        import tinysoundfont
    except ImportError as exc:
        raise ImportError(
            "Rendering the synthetic study needs tinysoundfont, which is installed without "
            "its pyaudio dependency: pip install --no-deps tinysoundfont"
        ) from exc
    return tinysoundfont


def check_world(world):
    """Validate a world name of the synthetic study."""
    if world not in WORLDS:
        raise ValueError(f"world must be one of {sorted(WORLDS)}; got {world!r}.")
    return world


def draw_clip(genre, rng, world="default"):
    """Draw the musical parameters of one clip of ``genre`` in ``world``.

    Returns a dict with the score parameters (tempo, key, mode, progression, instruments)
    and the clip's labels: ``instruments`` (AudioSet classes, most salient first),
    ``moods`` (the six AudioSet moods, most salient first), ``genres`` (AudioSet genres).
    Held-out clips name their drum pattern ``groove`` (``drums`` is the default world's
    pattern, which captions describe) and carry their post-render ``channel``.
    """
    style = WORLDS[check_world(world)]["styles"][genre]
    major = bool(rng.random() < style["major"])
    tempo = float(rng.uniform(*style["tempo"]))
    lead = int(rng.choice(style["lead"]))
    harmony = int(rng.choice([p for p in style["harmony"] if p != lead] or style["harmony"]))
    bass = int(rng.choice(style["bass"]))
    parts = [lead, harmony, bass]
    classes = [INSTRUMENTS[p][0] for p in parts]
    if style["drums"] is not None:
        classes.insert(2, PERCUSSION)
    ensemble_lead = INSTRUMENTS[lead][0] != "Keyboard (musical)"
    if genre == "classical" and harmony in style.get("orchestral", (48, 60)) and ensemble_lead:
        classes.insert(0, ORCHESTRA)
    instruments = list(dict.fromkeys(classes))
    # Mood saliences: the genre's leaning, the mode and the tempo, plus individual variation.
    tempo_z = (tempo - 115.0) / 35.0
    score = {mood: style["moods"].get(mood, 0.0) for mood in MOODS}
    score["Happy music"] += 0.4 * major - 0.2
    score["Sad music"] += 0.3 * (not major) - 0.2 * tempo_z
    score["Tender music"] -= 0.2 * tempo_z
    score["Exciting music"] += 0.3 * tempo_z
    score["Scary music"] += 0.15 * (not major)
    noise = rng.normal(0.0, 0.15, len(MOODS))
    moods = [MOODS[i] for i in np.argsort([-(score[m] + n) for m, n in zip(MOODS, noise)])]
    clip = {
        "genre": genre,
        "tempo": round(tempo, 1),
        "key": int(rng.integers(12)),
        "major": major,
        "progression": str(rng.choice(style["progressions"])),
        "programs": parts,
        "drums": style["drums"],
        "instruments": instruments,
        "moods": moods[:3],
        "genres": list(AUDIOSET_GENRES[genre]),
        "density": float(np.clip(style["density"] + rng.normal(0.0, 0.08), 0.15, 0.9)),
        "seed": int(rng.integers(2**31)),
        "world": world,
    }
    if world != "default":
        clip["groove"] = clip.pop("drums")
        clip["drums"] = None
        clip["channel"] = {
            "detune": float(rng.uniform(-30.0, 30.0)),
            "reverb_wet": float(rng.uniform(0.15, 0.45)),
            "reverb_decay": float(rng.uniform(0.3, 1.2)),
            "tilt_db": float(rng.uniform(-3.0, 3.0)),
            "peak_hz": float(np.exp(rng.uniform(np.log(300.0), np.log(4000.0)))),
            "peak_db": float(rng.uniform(-6.0, 6.0)),
        }
    return clip


def _chord(degree, scale, seventh):
    tones = [scale[(degree + k) % 7] + 12 * ((degree + k) // 7) for k in (0, 2, 4)]
    if seventh:
        tones.append(scale[(degree + 6) % 7] + 12 * ((degree + 6) // 7))
    return tones


def score_events(clip):
    """Note events ``(time_s, channel, key, velocity, duration_s)`` of one clip's score."""
    rng = np.random.default_rng(clip["seed"])
    world = WORLDS[clip.get("world", "default")]
    style = world["styles"][clip["genre"]]
    step = 60.0 / clip["tempo"] / 4
    swing = step / 3 if style["swing"] else 0.0
    scale = MAJOR if clip["major"] else MINOR
    pentatonic = _PENTATONIC_MAJOR if clip["major"] else _PENTATONIC_MINOR
    progression = world["progressions"][clip["progression"]]
    voicing = VOICINGS[style.get("voicing", "close")]
    drums = clip.get("groove", clip["drums"])
    root = 48 + clip["key"]
    n_bars = int(np.ceil((CLIP_DURATION + _TAIL) / (16 * step)))
    events = []

    def at(bar, s):
        return (bar * 16 + s) * step + (swing if s % 4 == 2 else 0.0)

    melody_note = 2
    for bar in range(n_bars):
        degree = progression[bar % len(progression)]
        chord = _chord(degree, scale, style["seventh"])
        chord_root = root + scale[degree]
        # Channels follow ``programs`` (lead, harmony, bass): the bass line on channel 2,
        # the accompaniment on channel 1.
        for s, interval in world["bass"][style["bass_pattern"]]:
            length = 16 if style["bass_pattern"] in ("held", "sustain_low") else 2
            events.append((at(bar, s), 2, chord_root - 12 + interval, 95, length * step * 0.9))
        comp = style["comp"]
        voiced = voicing(chord)
        for k, (s, length) in enumerate(COMP_RHYTHMS[comp]):
            if comp == "power":
                notes = [chord_root, chord_root + 7]
            elif comp == "arpeggio":
                notes = [root + 12 + chord[k % len(chord)]]
            elif comp == "cascade":
                notes = [root + 12 + voiced[-1 - k % len(voiced)]]
            else:
                notes = [root + 12 + t for t in voiced]
            for note in notes:
                events.append((at(bar, s), 1, note, 70, length * step * 0.95))
        for s in range(0, 16, 2):
            if rng.random() > clip["density"]:
                continue
            strong = s % 8 == 0
            if strong:
                pitch = root + 24 + chord[int(rng.integers(len(chord)))]
            else:
                melody_note = int(np.clip(melody_note + rng.integers(-2, 3), 0, 9))
                pitch = root + 24 + pentatonic[melody_note % 5] + 12 * (melody_note // 5) - 12
            length = int(rng.choice([2, 2, 4, 6]))
            events.append((at(bar, s), 0, pitch, int(rng.integers(80, 115)), length * step * 0.9))
        if drums is not None:
            for drum, steps in world["drums"][drums].items():
                for s in steps:
                    velocity = 110 if s % 4 == 0 else 85
                    events.append((at(bar, s), 9, drum, velocity, step * 0.9))
    return [e for e in events if e[0] < CLIP_DURATION]


def post_channel(wave, sample_rate, channel, seed):
    """The held-out world's recording channel: equaliser (a spectral tilt and one peak)
    then a reverb (exponentially decaying noise), on a rendered waveform ``(n_samples,)``."""
    from scipy.signal import fftconvolve

    n = wave.size
    spectrum = np.fft.rfft(wave.astype(np.float64))
    frequencies = np.maximum(np.fft.rfftfreq(n, 1.0 / sample_rate), 20.0)
    gain_db = (channel["tilt_db"] * np.log2(frequencies / 1000.0)
               + channel["peak_db"] * np.exp(-0.5 * np.log2(frequencies / channel["peak_hz"])**2))
    dry = np.fft.irfft(spectrum * 10.0 ** (gain_db / 20.0), n=n)
    rng = np.random.default_rng(seed)
    t = np.arange(int(channel["reverb_decay"] * sample_rate)) / sample_rate
    # exp(-6.9 t / T): the response falls by 60 dB over the decay time T.
    impulse = rng.standard_normal(t.size) * np.exp(-6.9 * t / channel["reverb_decay"])
    wet = fftconvolve(dry, impulse)[:n]
    wet *= np.std(dry) / max(np.std(wet), 1e-12)
    mix = channel["reverb_wet"]
    return ((1.0 - mix) * dry + mix * wet).astype(np.float32)


def _mono(interleaved):
    """The mean of every left-right pair of interleaved float32 stereo samples ``(2 n,)``,
    rounded as ``reshape(-1, 2).mean(axis=1)`` rounds it (the float32 sum, halved exactly),
    without numpy's slow reduction over an axis of length 2."""
    return (interleaved[0::2] + interleaved[1::2]) * np.float32(0.5)


class Renderer:
    """Render note events with tinysoundfont; one synthesizer for the pieces it renders."""

    def __init__(self, sample_rate=SAMPLE_RATE):
        tinysoundfont = _import_tinysoundfont()
        self.sample_rate = sample_rate
        self.synth = tinysoundfont.Synth(samplerate=sample_rate, gain=-6.0)
        self.soundfont = self.synth.sfload(str(_soundfont_path()))

    def render_events(self, programs, events, duration, detune_cents=0.0):
        """Mono float32 waveform ``(n_samples,)`` of note events, before any preparation.

        Parameters
        ----------
        programs : sequence of int
            General MIDI program of melodic channel 0, 1, ... (channel 9 plays drums).
        events : list of tuple
            ``(time_s, channel, key, velocity, duration_s)`` note events.
        duration : float
            Seconds rendered; notes still sounding are cut.
        detune_cents : float, default=0.0
            Pitch bend of every melodic channel, in cents (within +-200).
        """
        synth = self.synth
        for channel, program in enumerate(programs):
            synth.program_select(channel, self.soundfont, 0, int(program))
        synth.program_select(9, self.soundfont, 128, 0, is_drums=True)
        if detune_cents:
            for channel in range(len(programs)):
                # The default bend range is 2 semitones either way over 8192 steps.
                synth.pitchbend(channel, int(round(8192 + 8191 * detune_cents / 200.0)))
        actions = []
        for time, channel, key, velocity, length in events:
            actions.append((time, 1, channel, key, velocity))
            actions.append((time + length, 0, channel, key, 0))
        actions.sort()
        n_total = int(round(duration * self.sample_rate))
        chunks, position = [], 0
        for time, is_on, channel, key, velocity in actions:
            sample = min(int(round(time * self.sample_rate)), n_total)
            if sample > position:
                chunks.append(np.frombuffer(synth.generate_simple(sample - position), np.float32))
                position = sample
            if is_on:
                synth.noteon(channel, key, velocity)
            else:
                synth.noteoff(channel, key)
        if n_total > position:
            chunks.append(np.frombuffer(synth.generate_simple(n_total - position), np.float32))
        synth.sounds_off()
        if detune_cents:
            for channel in range(len(programs)):
                synth.pitchbend(channel, 8192)
        return _mono(np.concatenate(chunks))

    def render(self, clip):
        """Waveform of float32 ``(n_samples,)`` of one clip, before fades and normalisation."""
        channel = clip.get("channel")
        detune = channel["detune"] if channel is not None else 0.0
        wave = self.render_events(clip["programs"], score_events(clip), CLIP_DURATION, detune)
        if channel is None:
            return wave
        return post_channel(wave, self.sample_rate, channel, clip["seed"])


def render_clips(clips, sample_rate=SAMPLE_RATE):
    """Prepared waveforms ``(n_clips, n_samples)`` float32 of drawn clips (see draw_clip).

    Every clip gets a fresh synthesizer (10 ms): one reused from clip to clip carries state
    (voices' release and modulation phases) into the next clip's last bits, so a clip's
    audio would depend on the clips rendered before it in the same call.
    """
    audio = np.empty((len(clips), int(round(CLIP_DURATION * sample_rate))), np.float32)
    for i, clip in enumerate(clips):
        audio[i] = prepare_clips(Renderer(sample_rate).render(clip), sample_rate)
    return audio
