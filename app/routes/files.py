"""``/processes/{pid}/files``: open and close file descriptors."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from core import InvalidArgument, NoSuchProcess, SyscallError

from ..deps import ProcessDep, ServiceDep
from ..errors import responses
from ..jsonbody import JsonRoute
from ..schemas.batch import CloseOp
from ..schemas.common import DECIMAL_RULE, DecimalText
from ..schemas.processes import FileIn, FileOut

router = APIRouter(route_class=JsonRoute, prefix="/processes/{pid}/files", tags=["files"])

Fd = Annotated[
    int,
    Path(
        ge=0,
        lt=1 << 31,
        description=f"file descriptor ({DECIMAL_RULE})",
        openapi_examples={"fd": {"value": 3}},
    ),
    DecimalText,
]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Open a file",
    responses=responses(NoSuchProcess, SyscallError, InvalidArgument),
)
async def open_file(
    proc: ProcessDep, body: FileIn, response: Response, service: ServiceDep
) -> FileOut:
    """`open(2)` with `O_CREAT`: the file is created when missing, and truncated to
    `size` bytes when given. Returns the lowest free fd (from 3; EMFILE past 1024).
    Each open is a new open file description: two opens of one file never merge in
    maps, one fd mapped twice can."""
    ret = await service.apply(proc, "open", body)
    assert ret is not None
    fd = ret[1]
    f = proc.files.get(fd, "open")
    response.headers["Location"] = f"/processes/{proc.pid}/files/{fd}"
    return FileOut(
        fd=fd,
        path=f.inode.path,
        readable=f.readable,
        writable=f.writable,
        size=f.inode.size,
        unlinked=f.inode.unlinked,
    )


@router.delete(
    "/{fd}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Close a file descriptor",
    responses=responses(NoSuchProcess, SyscallError),
)
async def close_file(proc: ProcessDep, fd: Fd, service: ServiceDep) -> None:
    """`close(2)`: EBADF (422 with the errno) when `fd` is not open. Mappings keep
    their own reference to the file."""
    await service.apply(proc, "close", CloseOp(op="close", fd=fd))
