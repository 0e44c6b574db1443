"""Output folders of the command line: a run never overwrites or follows what it did not create.

``--out`` is accepted when it is new, empty, or an earlier output of skbrainmusic: such a
folder holds a marker file, ``.skbrainmusic-output``, listing every file the runs wrote into
it. Every file is then written through :func:`write_output`, which

- refuses symbolic links at the destination and in the folders between ``--out`` and it
  (nothing is written through a link, whatever it points to);
- replaces an existing file only when the marker lists it (a file a user put into the folder
  is never overwritten);
- writes atomically (a temporary file in the same folder, renamed into place), so an
  interrupted run leaves complete files only, and records the file in the marker.

``--out`` itself may be reached through links the user chose (e.g. a linked home folder).
"""

import json
import os
from pathlib import Path

from .._store import atomic_write
from .._version import __version__
from ._common import CLIError

MARKER = ".skbrainmusic-output"


def _read_manifest(folder):
    marker = folder / MARKER
    if marker.is_symlink() or (marker.exists() and not marker.is_file()):
        raise CLIError(f"--out {folder}: {MARKER} is not a regular file; choose another "
                       "folder (nothing was written).")
    if not marker.exists():
        return None
    try:
        manifest = json.loads(marker.read_text(encoding="utf-8"))
        files = manifest["files"]
        if not isinstance(files, list) or not all(isinstance(name, str) for name in files):
            raise TypeError("files is not a list of names")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CLIError(f"--out {folder}: its {MARKER} file is unreadable ({exc}); choose "
                       "another folder (nothing was written).") from exc
    return set(files)


def _write_manifest(folder, files):
    text = json.dumps({"written_by": f"skbrainmusic {__version__}", "files": sorted(files)},
                      indent=1) + "\n"
    atomic_write(folder / MARKER, lambda temporary: temporary.write_text(text, encoding="utf-8"))


def prepare_output(out):
    """Create or reuse the output folder ``out``; raise :class:`CLIError` when not allowed.

    Parameters
    ----------
    out : str or path-like
        The ``--out`` value.

    Returns
    -------
    out : pathlib.Path
        The folder as an absolute path (the paths :func:`write_output` returns are
        absolute too, so the report can name its files relative to it), with its marker
        written.
    """
    if not str(out).strip():
        raise CLIError("--out is empty: give the folder to write to, e.g. --out results.")
    out = Path(os.path.abspath(Path(out).expanduser()))
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {out} is a file, not a folder: give a new or empty folder.")
    try:
        out.mkdir(parents=True, exist_ok=True)
        files = _read_manifest(out)
        if files is None:
            if any(out.iterdir()):
                raise CLIError(
                    f"--out {out} is not empty and is not an earlier skbrainmusic output (no "
                    f"{MARKER} file): give a new or empty folder; nothing in it was changed.")
            files = set()
        # Rewriting the marker also checks that the folder is writable.
        _write_manifest(out, files)
    except OSError as exc:
        raise CLIError(f"cannot write to --out {out}: {exc.strerror or exc}.") from exc
    return out


def _output_root(path):
    for folder in path.parents:
        if (folder / MARKER).is_file() and not (folder / MARKER).is_symlink():
            return folder
    return None


def write_output(path, writer):
    """Write the output file ``path`` atomically through ``writer(temporary_path)``.

    Inside a folder prepared by :func:`prepare_output`, missing sub-folders are created,
    links are refused, an existing file is replaced only when the marker lists it, and the
    file is recorded in the marker. Elsewhere (e.g. figures written by tests) the file must
    not exist yet.

    Parameters
    ----------
    path : str or path-like
        The file to write.
    writer : callable
        ``writer(temporary_path)`` writes the whole content to the given path.

    Returns
    -------
    path : pathlib.Path
    """
    if ".." in Path(path).parts:
        raise CLIError(f"{path}: output paths never contain '..' (they could leave --out).")
    path = Path(os.path.abspath(Path(path).expanduser()))
    root = _output_root(path)
    # The folders between root and path, outermost first ("." itself is the user's --out).
    folders = list(path.relative_to(root).parents)[:-1] if root is not None else []
    for relative in reversed(folders):
        folder = root / relative
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise CLIError(f"{folder} is not a plain folder (a link or a file): skbrainmusic "
                           "never writes through links; remove it or choose another --out.")
        folder.mkdir(exist_ok=True)
    files = _read_manifest(root) if root is not None else set()
    relative = path.relative_to(root).as_posix() if root is not None else None
    if path.is_symlink():
        raise CLIError(f"{path} is a symbolic link: skbrainmusic never writes through links; "
                       "remove it or choose another --out.")
    if path.exists() and (path.is_dir() or relative not in files):
        raise CLIError(f"{path} exists and was not written by skbrainmusic: it is left as it "
                       "is; move it away or choose another --out.")
    atomic_write(path, writer)
    if root is not None and relative not in files:
        _write_manifest(root, files | {relative})
    return path
