"""``/machines``: create, list, inspect and delete simulated machines.

Every route of a process is also served under ``/machines/{machine}`` (mounted in
:mod:`app.main`); the routes without that prefix serve the machine ``default``.
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from core import InvalidArgument

from ..deps import MachineId, MachinesDep
from ..errors import (
    DefaultMachineKept,
    MachineExists,
    MachineLimitReached,
    NoSuchMachine,
    responses,
)
from ..jsonbody import JsonRoute
from ..machines import Machine
from ..schemas.machines import KernelSettingsOut, MachineIn, MachineList, MachineOut

router = APIRouter(route_class=JsonRoute, prefix="/machines", tags=["machines"])


def machine_out(machine: Machine) -> MachineOut:
    """The machine's identity, process count and kernel settings. O(processes)."""
    return MachineOut(
        id=machine.name,
        default=machine.is_default,
        path=f"/machines/{machine.name}",
        created_at=machine.created_at,
        processes=len(machine.service.kernel.processes()),
        settings=KernelSettingsOut(**machine.settings()),
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a machine",
    responses=responses(MachineExists, MachineLimitReached, InvalidArgument),
)
async def create_machine(body: MachineIn, machines: MachinesDep, response: Response) -> MachineOut:
    """A new simulated machine with its own pids, files, counters, pause points and
    experiment jobs, and the kernel settings given (a value the kernel refuses is a
    422 naming it; nothing is created). Kept across restarts from the answer on.
    Limited by `VMASIM_MAX_MACHINES` (409 when reached; `default` counts)."""
    settings = body.settings.model_dump(exclude_none=True)
    machine = await machines.create(body.id, settings)
    response.headers["Location"] = f"/machines/{machine.name}"
    return machine_out(machine)


@router.get("", summary="List machines")
async def list_machines(machines: MachinesDep) -> MachineList:
    """Every machine, `default` first, and the machine limit in force."""
    found = machines.machines()
    return MachineList(
        count=len(found),
        limit=machines.statistics().limit,
        machines=[machine_out(m) for m in found],
    )


@router.get("/{machine}", summary="Inspect a machine", responses=responses(NoSuchMachine))
async def get_machine(machine: MachineId, machines: MachinesDep) -> MachineOut:
    """The machine's process count and kernel settings."""
    return machine_out(machines.get(machine))


@router.delete(
    "/{machine}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a machine",
    responses=responses(NoSuchMachine, DefaultMachineKept),
)
async def delete_machine(machine: MachineId, machines: MachinesDep) -> None:
    """Delete the machine and everything on it: operations held at its pause points
    are released, state changes in progress finish, its experiment jobs are
    cancelled, then its processes, checkpoint and journal are gone (a later request
    for it is a 404). `default` cannot be deleted (409)."""
    await machines.delete(machine)
