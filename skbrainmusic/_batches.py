"""Reading large clip arrays (memory-mapped caches and stores) a batch at a time.

A memory-mapped file's pages stay mapped into the process once read: they count in its
resident memory (RSS, PSS) until the mapping is closed, so a pass over a memory-mapped
corpus would end up holding all of it. :func:`iter_batches` hands out consecutive rows and
lets go of the pages read so far after each batch (``madvise(MADV_DONTNEED)`` on shared
file mappings only, read-only or written: the data stay in the file and the page cache, and
are read back on the next access), so a pass over any corpus holds one batch.
"""

import mmap

import numpy as np

__all__ = ["iter_batches", "map_batches", "release_pages"]

# numpy.memmap modes that map the file shared (MAP_SHARED): unmapping their pages loses nothing.
_SHARED_MODES = ("r", "readonly", "r+", "readwrite", "w+", "write")


def release_pages(array):
    """Unmap the pages touched so far of the shared file mapping behind ``array``, if any.

    Written pages of a shared mapping (modes ``"r+"``, ``"w+"``) are kept by the kernel's
    page cache and written to the file as usual. Arrays that are not backed by a shared
    :class:`numpy.memmap` (in-memory arrays; copy-on-write mappings, mode ``"c"``, whose
    pages hold the only copy of their changes) are left alone.

    Parameters
    ----------
    array : object
        Anything; a (view of a) memory-mapped array releases its pages.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from skbrainmusic._batches import release_pages
    >>> path = tempfile.mkdtemp() + "/a.npy"
    >>> np.save(path, np.arange(4.0))
    >>> mapped = np.load(path, mmap_mode="r")
    >>> float(mapped.sum())
    6.0
    >>> release_pages(mapped)
    >>> float(mapped.sum())  # read back from the file
    6.0
    """
    madvise = getattr(mmap, "MADV_DONTNEED", None)
    base = array
    while base is not None:
        if isinstance(base, np.memmap) and base.mode in _SHARED_MODES:
            owner = base.base
            while owner is not None and not isinstance(owner, mmap.mmap):
                owner = getattr(owner, "base", None)
            if owner is not None and madvise is not None and not owner.closed:
                owner.madvise(madvise)
            return
        base = getattr(base, "base", None)


def iter_batches(audio, batch_size):
    """Consecutive batches of rows of ``audio``, releasing mapped pages after each.

    Parameters
    ----------
    audio : array-like of shape (n_clips, ...)
        Anything that slices by rows (ndarray, memmap, list of waveforms).
    batch_size : int
        Rows per batch (the last batch may be shorter).

    Yields
    ------
    batch : same type as ``audio[start:stop]``
        Rows ``start:stop``; a memory-mapped input's pages are released once the consumer
        asks for the next batch.

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic._batches import iter_batches
    >>> [batch.tolist() for batch in iter_batches(np.arange(5), 2)]
    [[0, 1], [2, 3], [4]]
    """
    for start in range(0, len(audio), batch_size):
        yield audio[start:start + batch_size]
        release_pages(audio)


def map_batches(function, rows, batch_size):
    """``function`` of every batch of :func:`iter_batches`, in order, in parallel under
    joblib's current ``parallel_config`` (serial without one).

    A memory-mapped ``rows`` reaches the workers as a mapping of the same file (joblib
    passes memory maps by reference), so each worker reads only its own batches.

    Parameters
    ----------
    function : callable
        Called with one batch; picklable when workers are processes.
    rows : array-like of shape (n_rows, ...)
        Anything that slices by rows.
    batch_size : int
        Rows per batch.

    Returns
    -------
    results : list
        ``function(batch)`` of every batch, in order.

    Examples
    --------
    >>> import numpy as np
    >>> from skbrainmusic._batches import map_batches
    >>> map_batches(np.sum, np.arange(5), 2)
    [np.int64(1), np.int64(5), np.int64(4)]
    """
    from joblib import Parallel, delayed

    return list(Parallel(return_as="generator")(
        delayed(function)(batch) for batch in iter_batches(rows, batch_size)))
