"""Which files a plan may read, and reading them with bounded size.

A plan runs wherever its file is checked, including CI jobs on pull requests
that anyone may open, so the files it names are confined (docs/language.md,
"Which files a plan may read"):

- the plan's **root** is the top of the git repository holding the first plan
  (a directory with ``.git``), or the first plan's own directory outside git;
  ``--root DIR`` (``load_plan(root=...)``) sets it explicitly;
- an ``import``, a ``config`` or a measured run's ``from`` path is relative to the file that
  writes it and
  must stay inside the root once ``..`` and symbolic links are resolved; an
  absolute path is refused, except a ``config`` inside the local Hugging Face
  cache, which stays readable, as does ``import "std"`` (the shipped catalog);
- an import must be a ``.plan`` file, a config or a result a ``.json`` file (the name
  written and the file a link leads to), so an error message, which quotes the
  line of a plan it points at, never quotes another kind of file;
- only regular files are read, at most ``MAX_FILE_BYTES`` of them: no device,
  FIFO or ``/proc`` stream can make a read unbounded or hang.

With a ``reader`` (a file's text at a git revision, or in memory) the same
rules apply to the path as written; links cannot be followed there.
"""

from __future__ import annotations

import os
import stat

from planner.errors import PlanImportError, PlanLimitError, Span
from planner.frozen import frozen
from planner.syntax.limits import MAX_FILE_BYTES, thousands


def find_root(plan_path: str) -> str:
    """The top of the git repository holding ``plan_path``, or its directory outside git."""
    start = os.path.dirname(os.path.abspath(plan_path))
    directory = start
    while True:
        if os.path.exists(os.path.join(directory, ".git")):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return start
        directory = parent


def hf_cache_dir() -> str:
    """The local Hugging Face hub cache, where ``huggingface_hub`` keeps downloaded files."""
    explicit = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface")
    return os.path.abspath(os.path.join(os.path.expanduser(home), "hub"))


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


_SUFFIX = {"import": (".plan", "a plan file (.plan)"), "config": (".json", "a config.json file (.json)"),
           "from": (".json", "a benchmark result file (.json)")}


@frozen
class Access:
    """The files one load may read: inside ``root`` (and the HF cache, for configs)."""

    root: str  # absolute, as given
    on_disk: bool  # False with a reader: paths are checked as written, links not followed

    @classmethod
    def for_plan(cls, plan_path: str, root: str | None, on_disk: bool) -> "Access":
        return cls(os.path.abspath(root) if root is not None else find_root(plan_path), on_disk)

    def resolve(self, written: str, from_file: str, span: Span | None, what: str) -> str:
        """The path to read for ``written``, an ``import`` or ``config`` path in ``from_file``."""
        suffix, kind = _SUFFIX[what]
        if not written.endswith(suffix):
            raise PlanImportError(f"`{written}`: {what} reads {kind} only", span)
        if os.path.isabs(written) or written.startswith("~"):
            if what == "config" and self._in_hf_cache(written):
                return written
            raise PlanImportError(
                f"`{written}`: an absolute path; write the path relative to this file, inside the "
                f"plan's root {self.root}", span)
        path = os.path.normpath(os.path.join(os.path.dirname(from_file), written))
        if not _inside(os.path.abspath(path), os.path.normpath(self.root)):
            raise PlanImportError(
                f"`{written}` is outside the plan's root {self.root}; "
                "run with `--root DIR` to read files under DIR", span)
        if self.on_disk and os.path.exists(path):
            real = os.path.realpath(path)
            # the HF cache keeps each file as a blob named by its hash, linked from its snapshot
            cached = what == "config" and _inside(real, os.path.realpath(hf_cache_dir()))
            if not (_inside(real, os.path.realpath(self.root)) or cached):
                raise PlanImportError(f"`{written}` is a link to a file outside the plan's root {self.root}", span)
            if not (real.endswith(suffix) or cached):
                raise PlanImportError(f"`{written}` is a link to a file that is not {kind}", span)
        return path

    def resolve_config(self, written: str, from_file: str, span: Span | None):
        """The ``Snapshot`` (config.json, and the safetensors index beside it when there is
        one) a ``config`` value names: a ``.json`` file, a snapshot directory, or
        ``hf:ORG/NAME`` in the local Hugging Face cache."""
        from planner.resolve import snapshot

        if snapshot.is_hub_id(written):
            return snapshot.from_cache(written, hf_cache_dir(), span)
        if not written.endswith(".json"):
            folder = os.path.normpath(os.path.join(os.path.dirname(from_file), os.path.expanduser(written)))
            if not (written.endswith(("/", os.sep)) or (self.on_disk and os.path.isdir(folder))):
                raise PlanImportError(
                    f"`{written}`: config reads a config.json file (.json), a snapshot directory "
                    "(`models/qwen3/`) or a model in the Hugging Face cache (`hf:ORG/NAME`)", span)
            written = written.rstrip("/" + os.sep) + "/" + snapshot.CONFIG
        path = self.resolve(written, from_file, span, "config")
        index = None
        if os.path.basename(path) == snapshot.CONFIG:
            beside = os.path.join(os.path.dirname(path), snapshot.INDEX)
            if not self.on_disk or os.path.isfile(beside):
                index = beside
        return snapshot.Snapshot(path, index)

    def _in_hf_cache(self, written: str) -> bool:
        if not self.on_disk:
            return False
        real = os.path.realpath(os.path.expanduser(written))
        return _inside(real, os.path.realpath(hf_cache_dir()))


def read_file(path: str, span: Span | None = None) -> str:
    """The UTF-8 text of the regular file ``path``, at most MAX_FILE_BYTES, or a PlanError.

    ``span`` is where the file was named (an import, a config), for errors that are
    about reaching the file; an error inside the file points into it.
    """
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise PlanImportError(f"`{path}`: no such file", span) from None
    except IsADirectoryError:
        raise PlanImportError(f"`{path}` is a directory, not a file", span) from None
    except (OSError, ValueError) as error:
        raise PlanImportError(f"cannot read `{path}`: {reason(error)}", span) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        what = "a directory, not a file" if stat.S_ISDIR(mode) else "not a regular file"
        raise PlanImportError(f"`{path}` is {what}", span)
    with os.fdopen(fd, "rb") as handle:
        try:
            data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as error:
            raise PlanImportError(f"cannot read `{path}`: {reason(error)}", span) from None
    return decode(data, path, span)


def read_head(path: str, size: int, span: Span | None = None) -> str:
    """The first ``size`` bytes of the regular file ``path`` as text (undecodable bytes
    replaced): for files only their head is read from (a safetensors index's metadata)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except (OSError, ValueError) as error:
        raise PlanImportError(f"cannot read `{path}`: {reason(error)}", span) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise PlanImportError(f"`{path}` is not a regular file", span)
    with os.fdopen(fd, "rb") as handle:
        try:
            data = handle.read(size)
        except OSError as error:
            raise PlanImportError(f"cannot read `{path}`: {reason(error)}", span) from None
    return data.decode("utf-8", errors="replace")


def decode(data: bytes, path: str, span: Span | None = None) -> str:
    """``data`` as UTF-8 text (a leading BOM dropped), or an error at the first bad byte."""
    if len(data) > MAX_FILE_BYTES:
        raise PlanLimitError(f"`{path}` is larger than the limit of {thousands(MAX_FILE_BYTES)} bytes", span)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        line_start = data.rfind(b"\n", 0, error.start) + 1
        column = len(data[line_start:error.start].decode("utf-8", errors="replace")) + 1
        hint = f"imported at {span.file}:{span.line}" if span is not None else None
        raise PlanImportError(f"`{path}` is not UTF-8 text: byte 0x{data[error.start]:02x} cannot be read",
                              Span.point(path, line, column), hint) from None
    return text.removeprefix("\ufeff")


def reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error) or type(error).__name__
