"""``#!`` scripts (fs/binfmt_script.c ``load_script``).

A file whose first two bytes are ``#!`` names its interpreter on that line. The kernel
reads only the first :data:`BINPRM_BUF_SIZE` bytes of the file (``bprm->buf``, zero
padded past the end of a short file), so the line is parsed inside that buffer:

* the line ends at the first newline; without one in the buffer, the interpreter path
  must be followed by a space, tab or NUL somewhere in it (else the path may be
  truncated: ``ENOEXEC``), and the line is the whole buffer;
* trailing spaces and tabs are dropped; the interpreter name starts at the first
  non-space after ``#!`` (none: ``ENOEXEC``) and ends at the next space, tab or NUL;
* everything after that separator and the spaces following it, up to the end of the
  line, is *one* optional argument (spaces inside it are kept).

:func:`parse_shebang` returns ``(interpreter, argument or None)``; fs/exec.c's part
(argv rewrite, the interpreter opened next) is in :mod:`core.exec`.
"""

from __future__ import annotations

from .constants import ENOEXEC
from .errors import SyscallError

BINPRM_BUF_SIZE = 256  # include/uapi/linux/binfmts.h: the bytes of a file execve reads first

_SPACETAB = b" \t"


def _next_non_spacetab(buf: bytes, first: int, last: int) -> int | None:
    for i in range(first, last + 1):
        if buf[i] not in _SPACETAB:
            return i
    return None


def _next_terminator(buf: bytes, first: int, last: int) -> int | None:
    for i in range(first, last + 1):
        if buf[i] in _SPACETAB or buf[i] == 0:
            return i
    return None


def _cstr(buf: bytes | bytearray, start: int) -> bytes:
    end = buf.find(b"\0", start)
    return bytes(buf[start : end if end >= 0 else len(buf)])


def is_script(head: bytes) -> bool:
    """Whether ``head`` (the first bytes of a file) starts with ``#!``."""
    return head[:2] == b"#!"


def parse_shebang(head: bytes) -> tuple[bytes, bytes | None]:
    """The interpreter and optional argument of the ``#!`` line in ``head`` (the file's
    first bytes; only :data:`BINPRM_BUF_SIZE` of them count). ``SyscallError(ENOEXEC)``
    when there is no usable interpreter name, as ``load_script`` returns. O(256)."""
    buf = head[:BINPRM_BUF_SIZE].ljust(BINPRM_BUF_SIZE, b"\0")
    if not is_script(buf):
        raise SyscallError(ENOEXEC, "execve", "not a #! script")
    buf_end = BINPRM_BUF_SIZE - 1
    i_end = buf.find(b"\n")
    if i_end < 0:
        start = _next_non_spacetab(buf, 2, buf_end)
        if start is None:
            raise SyscallError(ENOEXEC, "execve", "the #! line is only spaces")
        if _next_terminator(buf, start, buf_end) is None:
            raise SyscallError(
                ENOEXEC,
                "execve",
                f"the #! line has no end within the first {BINPRM_BUF_SIZE} bytes "
                "(the interpreter path may be truncated)",
            )
        i_end = buf_end
    while buf[i_end - 1] in _SPACETAB:
        i_end -= 1
    i_name = _next_non_spacetab(buf, 2, i_end)
    if i_name is None or i_name == i_end:
        raise SyscallError(ENOEXEC, "execve", "the #! line names no interpreter")
    i_arg = None
    i_sep = _next_terminator(buf, i_name, i_end)
    if i_sep is not None and buf[i_sep] != 0:
        i_arg = _next_non_spacetab(buf, i_sep, i_end)
    line = bytearray(buf)
    line[i_end] = 0
    if i_arg is not None and i_sep is not None:
        line[i_sep] = 0
    return _cstr(line, i_name), (_cstr(line, i_arg) if i_arg is not None else None)
