"""The child process test_process_death.py kills with SIGKILL at a random moment.

    python -m tests.reliability.dying_child OBJECT PIN_DIR SEED

It runs lifecycles forever and reports on stdout, one JSON line each, everything it
creates, right after creating it: its namespace and veth, program ids, link ids (and
whether pinned), pins (maps pinned only after their data is written).
"""

from __future__ import annotations

import json
import os
import random
import sys

import libbpf_py
from libbpf_py.netns import VethPair
from tests.reliability.tc_hook import tcx_missing


def report(**what: object) -> None:
    """Tell the parent, unbuffered: the next instruction may never run."""
    os.write(1, (json.dumps(what) + "\n").encode())


def main(obj_path: str, pin_dir: str, seed: int) -> None:
    """Lifecycles until killed."""
    rng = random.Random(seed)
    net = VethPair()
    report(kind="net", netns=net.netns, host=net.host)
    objfile = libbpf_py.ObjectFile(obj_path)
    i = 0
    while True:
        i += 1
        with objfile.open() as opened:
            loaded = opened.load()
        report(kind="progs", ids=[p.info().id for p in loaded.programs.values()])
        progs = loaded.programs
        if i % 3 == 0:
            report(kind="netlink_xdp")
            xdp = progs["soak_xdp"].attach_xdp(net.host, netlink=True)
        else:
            xdp = progs["soak_xdp"].attach_xdp(net.host)
            report(kind="link", id=xdp.info().id, pinned=False)
        # The link it may pin: a tcx link, or before Linux 6.6 (no tcx) a tracepoint's.
        if tcx_missing() is None:
            link = progs["soak_tc"].attach_tcx(net.host)
        else:
            link = progs["soak_tp"].attach_tracepoint("syscalls/sys_enter_getppid")
        report(kind="link", id=link.info().id, pinned=False)
        table = loaded.maps["table"]
        table.update_batch(range(64), [i * 1000 + k for k in range(64)])
        if rng.random() < 0.5:
            path = f"{pin_dir}/table{i}"
            table.pin(path)
            report(kind="map_pin", path=path, generation=i)
        if rng.random() < 0.5:
            path = f"{pin_dir}/link{i}"
            link.pin(path)
            report(kind="link_pin", path=path, id=link.info().id)
            link.disconnect()
        if rng.random() < 0.5:
            xdp.detach()
        loaded.close()  # detaches what is neither pinned nor detached yet


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
