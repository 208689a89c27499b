"""Which reader a ``.root`` file (or URL) needs, told by its content: a Belle II mdst file
(``events.mdst``) or this project's event ntuple (``events.rootio``). A module of its own above
both, so that neither reader imports the other."""

from __future__ import annotations

from pathlib import Path

from events import mdst, remote, rootclasses, rootio
from events.source import EventFileError, EventSource, is_url, location


def open_root(path: str | Path) -> EventSource:
    """Open a ``.root`` file (or URL) as our ntuple or as a Belle II mdst file, by its content."""
    path = location(path)
    file = None
    try:
        file = remote.open_uproot(path)
        rootio._check_complete(path, file)
        names = set(file.keys(cycle=False))
        for name in (rootio.TREE, mdst.TREE):
            if name in names and not mdst.is_ttree(file[name]):
                raise EventFileError(
                    path,
                    f"{name!r} is {mdst.describe(file[name])}, not a TTree: mdst files and this program's "
                    "ntuples are TTrees (uproot writes an RNTuple for file[name] = {...}; write with mktree)",
                )
        if rootio.TREE in names and str(getattr(file[rootio.TREE], "title", "")).startswith(rootio.FORMAT):
            return rootio.NtupleSource(path, file[rootio.TREE])
        if mdst.TREE in names and mdst.is_mdst(file[mdst.TREE]):
            return mdst.MdstSource(path, tree=file[mdst.TREE])
        found = ", ".join(f"{name} ({mdst.describe(file[name])})" for name in sorted(names)[:20])
    except EventFileError:
        rootclasses.close(file)
        rootclasses.forget()
        raise
    except Exception as exc:  # uproot raises many types for damaged files
        rootclasses.close(file)
        rootclasses.forget()  # what the damaged file's streamers defined must not break the next file
        if is_url(path):  # the network rather than the file, most likely
            raise remote.read_error(path, exc, "cannot open") from exc
        raise EventFileError(path, f"not a readable ROOT file (truncated or corrupted?): {exc}") from exc
    rootclasses.close(file)
    found = found or "nothing"
    raise EventFileError(
        path,
        f"neither a Belle II mdst file (tree {mdst.TREE!r}) nor an event ntuple ({rootio.TREE!r}); "
        f"it holds {found}",
    )
