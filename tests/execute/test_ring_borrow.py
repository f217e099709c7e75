"""RingBuffer.borrow() and batched callbacks on the real kernel: the same records as
drain(), in place; use after release is refused; nothing is read after the producers
reuse the space; batch= callbacks get every record, typed by the one engine."""

from __future__ import annotations

import gc
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import libbpf_py
from libbpf_py.errors import PhaseError
from libbpf_py.ringbuf import BorrowedBatch, RingBuffer
from tests.conftest import requires_root
from tests.execute.conftest import PACKET, Loader

pytestmark = [requires_root, pytest.mark.usefixtures("no_fd_leak")]

MAX_RECORDS = 64
MAX_SIZE = 200  # 64 records of 200 bytes (+ 8-byte headers) fit the 16 KiB ring
RING_SIZE = 1 << 14

# A syscall program that writes the records a script from user space describes: record
# i is size[i] bytes, byte k of it (seq + i) * 13 + k, submitted or discarded. The ring
# is small, so that positions wrap around its end within a few rounds.
SCRIPT_SOURCE = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define MAX_RECORDS 64
#define MAX_SIZE 200

struct script {
    __u32 n;
    __u32 seq;
    __u16 size[MAX_RECORDS];
    __u8 discard[MAX_RECORDS];
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 14);
} ring SEC(".maps");

struct big {
    __u64 seq;
    __u8 payload[120];
};
struct big *big_type __attribute__((unused));

struct script sc;
__u8 buf[256];
__u64 dropped;

struct fill { __u32 seq; };

static long fill_one(__u64 k, void *ctx)
{
    struct fill *f = ctx;

    buf[k & 255] = (__u8)(f->seq * 13 + k);
    return 0;
}

static long write_one(__u64 i, void *ctx)
{
    __u32 idx = i & (MAX_RECORDS - 1);
    __u32 size = sc.size[idx];
    struct fill f = { .seq = sc.seq + idx };
    struct bpf_dynptr ptr;

    if (size > MAX_SIZE || size == 0)
        return 1;
    bpf_loop(size, fill_one, &f, 0);
    if (bpf_ringbuf_reserve_dynptr(&ring, size, 0, &ptr)) {
        bpf_ringbuf_discard_dynptr(&ptr, 0);
        dropped++;
        return 0;
    }
    bpf_dynptr_write(&ptr, 0, buf, size, 0);
    if (sc.discard[idx])
        bpf_ringbuf_discard_dynptr(&ptr, 0);
    else
        bpf_ringbuf_submit_dynptr(&ptr, 0);
    return 0;
}

SEC("syscall")
int write_script(struct script *s)
{
    sc = *s;
    bpf_loop(sc.n > MAX_RECORDS ? MAX_RECORDS : sc.n, write_one, NULL, 0);
    return 0;
}

static long big_one(__u64 index, void *ctx)
{
    struct big *b = bpf_ringbuf_reserve(&ring, sizeof(*b), 0);

    if (!b) {
        dropped++;
        return 0;
    }
    b->seq = sc.seq + index;
    b->payload[0] = (__u8)index;
    b->payload[119] = 0xab;
    bpf_ringbuf_submit(b, 0);
    return 0;
}

/* `n` records of struct big, numbered from `seq`. */
SEC("syscall")
int write_big(struct script *s)
{
    sc = *s;
    bpf_loop(sc.n, big_one, NULL, 0);
    return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
"""


@pytest.fixture(scope="module")
def script_object(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ring_borrow")
    src = out / "ring_script.bpf.c"
    src.write_text(SCRIPT_SOURCE)
    return libbpf_py.compile(src, out / "ring_script.o")


@pytest.fixture
def script_obj(script_object: Path) -> Iterator[libbpf_py.LoadedObject]:
    with libbpf_py.ObjectFile(script_object).open() as opened, opened.load() as obj:
        yield obj


def run_script(
    obj: libbpf_py.LoadedObject,
    seq: int,
    records: list[tuple[int, bool]],
    program: str = "write_script",
) -> list[bytes]:
    """Make the program write ``records`` (size, discarded); the records expected."""
    sizes = [size for size, _ in records] + [0] * (MAX_RECORDS - len(records))
    discards = [int(d) for _, d in records] + [0] * (MAX_RECORDS - len(records))
    ctx = struct.pack(f"<II{MAX_RECORDS}H{MAX_RECORDS}B", len(records), seq, *sizes, *discards)
    obj.programs[program].test_run(ctx=ctx)
    return [
        bytes(((seq + i) * 13 + k) & 0xFF for k in range(size))
        for i, (size, discarded) in enumerate(records)
        if not discarded
    ]


def run_big(obj: libbpf_py.LoadedObject, seq: int, n: int) -> None:
    ctx = struct.pack(f"<II{MAX_RECORDS}H{MAX_RECORDS}B", n, seq, *[0] * (2 * MAX_RECORDS))
    obj.programs["write_big"].test_run(ctx=ctx)


scripts = st.lists(
    st.lists(st.tuples(st.integers(1, MAX_SIZE), st.booleans()), min_size=0, max_size=MAX_RECORDS),
    min_size=1,
    max_size=6,
)


def test_borrow_gives_what_drain_gives_in_place_across_wraparound(
    script_obj: libbpf_py.LoadedObject,
) -> None:
    seq = [0]
    with RingBuffer(script_obj.maps["ring"]) as ring:

        @settings(
            max_examples=40,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        )
        @given(rounds=scripts, limit=st.none() | st.integers(1, 70))
        def check(rounds: list[list[tuple[int, bool]]], limit: int | None) -> None:
            for records in rounds:
                expected = run_script(script_obj, seq[0], records)
                seq[0] += len(records)
                borrowed: list[bytes] = []
                while True:  # with a limit, batch after batch until the ring is empty
                    with ring.borrow(limit) as batch:
                        assert isinstance(batch, BorrowedBatch)
                        got = [bytes(record) for record in batch]
                        assert list(batch.sizes) == [len(r) for r in got]
                        assert set(batch.rings) <= {0}
                        # Nothing moves while the batch is out: the ring still holds it.
                        state = ring.state()
                        assert state.consumer_pos < state.producer_pos or not got
                    borrowed += got
                    if not got:
                        break
                assert borrowed == expected
                # drain() of the same script gives the same bytes in the same order.
                again = run_script(script_obj, seq[0] - len(records), records)
                assert [bytes(r) for r in ring.drain()] == again == expected
                after = ring.state()
                assert after.available == 0

        check()
        # Every record was read twice (borrowed, drained): the positions went round the
        # ring several times, so records sat across its end.
        assert ring.state().consumer_pos > 2 * RING_SIZE


def test_use_after_release_raises_phase_error(script_obj: libbpf_py.LoadedObject) -> None:
    with RingBuffer(script_obj.maps["ring"]) as ring:
        run_script(script_obj, 0, [(24, False)] * 5)
        with ring.borrow() as batch:
            record = batch[2]
            assert len(record) == 24 and len(batch) == 5
        assert batch.released
        for access in (
            lambda: batch[0],
            lambda: len(batch),
            lambda: list(batch),
            lambda: batch.sizes,
            lambda: batch.offsets,
            lambda: batch.numpy(np.uint8),
            lambda: bytes(record),
            lambda: memoryview(record),
            lambda: len(record),
        ):
            with pytest.raises(PhaseError, match="released"):
                access()
        batch.release()  # idempotent


def test_a_live_view_refuses_release_and_no_recycled_read(
    script_obj: libbpf_py.LoadedObject,
) -> None:
    with RingBuffer(script_obj.maps["ring"]) as ring:
        first = run_script(script_obj, 0, [(200, False)] * 60)
        batch = ring.borrow()
        old_first, old_last = batch[0], batch[59]  # record objects: no buffer held
        view = memoryview(batch[0])
        array = batch.numpy(np.dtype((np.uint8, 200)))
        before = ring.state()
        with pytest.raises(PhaseError, match="view"):
            batch.release()
        with pytest.raises(PhaseError, match="view"):
            ring.drain()
        with pytest.raises(PhaseError, match="view"):
            ring.consume()
        # Refused: nothing moved, so the producer cannot have reused the space.
        assert ring.state().consumer_pos == before.consumer_pos
        assert bytes(view) == first[0] and bytes(array[59]) == first[59]
        # The ring is nearly full: a producer now writes only what fits beside the batch.
        fitted = run_script(script_obj, 1000, [(200, False)] * 60)
        assert bytes(view) == first[0] and bytes(array[59]) == first[59]
        del array
        view.release()
        batch.release()
        assert ring.state().consumer_pos == before.producer_pos
        # The records that fitted beside the batch, then 60 more: these go round the
        # ring's end and over the space the released batch viewed.
        leftover = [bytes(r) for r in ring.drain()]
        assert 0 < len(leftover) < 60 and leftover == fitted[: len(leftover)]
        newer = run_script(script_obj, 2000, [(200, False)] * 60)
        assert ring.state().producer_pos >= before.consumer_pos + RING_SIZE + 208
        for old in (old_first, old_last):
            with pytest.raises(PhaseError, match="released"):
                bytes(old)
            with pytest.raises(PhaseError, match="released"):
                memoryview(old)
        with ring.borrow() as again:
            assert [bytes(r) for r in again] == newer


def test_numpy_views_fixed_size_records_with_strides(script_obj: libbpf_py.LoadedObject) -> None:
    with RingBuffer(script_obj.maps["ring"], record_type="struct big") as ring:
        run_big(script_obj, 100, 50)
        with ring.borrow() as batch:
            rows = batch.numpy()
            assert rows.strides == (136,)
            assert list(rows["seq"]) == list(range(100, 150))
            assert (rows["payload"][:, 119] == 0xAB).all()
            assert batch.exports >= 1
            del rows
            assert batch.exports == 0


def test_numpy_refuses_records_split_by_a_discarded_one(
    script_obj: libbpf_py.LoadedObject,
) -> None:
    from libbpf_py.errors import LayoutError

    with RingBuffer(script_obj.maps["ring"]) as ring:
        run_script(script_obj, 0, [(16, False), (16, True), (16, False)])
        with ring.borrow() as batch:
            assert len(batch) == 2
            with pytest.raises(LayoutError, match="evenly spaced"):
                batch.numpy(np.dtype((np.uint8, 16)))


def test_close_with_a_view_alive_keeps_the_memory(script_obj: libbpf_py.LoadedObject) -> None:
    ring = RingBuffer(script_obj.maps["ring"])
    expected = run_script(script_obj, 7, [(40, False)] * 3)
    batch = ring.borrow()
    view = memoryview(batch[1])
    ring.close()  # cannot release: the records stay in the ring, the pages mapped
    assert bytes(view) == expected[1]
    view.release()
    del batch, view
    gc.collect()
    with RingBuffer(script_obj.maps["ring"]) as again:
        assert [bytes(r) for r in again.drain()] == expected


def test_borrow_refuses_while_consumed_records_wait(script_obj: libbpf_py.LoadedObject) -> None:
    with RingBuffer(script_obj.maps["ring"]) as ring:
        expected = run_script(script_obj, 0, [(8, False)] * 4)
        assert ring.consume() == 4  # kept for drain()
        with pytest.raises(PhaseError, match="drain"):
            ring.borrow()
        assert [bytes(r) for r in ring.drain()] == expected
        assert len(ring.borrow()) == 0


def test_borrowed_records_decode_by_the_engine(script_obj: libbpf_py.LoadedObject) -> None:
    with RingBuffer(script_obj.maps["ring"], record_type="struct big") as ring:
        run_big(script_obj, 5, 3)
        rtype = ring._rings[0].record_type
        assert rtype is not None
        with ring.borrow() as batch:
            values = [rtype.decode(memoryview(r)) for r in batch]
        assert [v.seq for v in values] == [5, 6, 7]
        assert values[1].payload[0] == 1 and values[1].payload[119] == 0xAB


@pytest.mark.parametrize("size", [1, 7, 64])
def test_batched_typed_callbacks_get_every_record_in_lists(
    script_obj: libbpf_py.LoadedObject, size: int
) -> None:
    lists: list[list[object]] = []
    with RingBuffer(
        script_obj.maps["ring"], lists.append, record_type="struct big", batch=size
    ) as ring:
        total = 0
        for round_ in range(5):  # 5 x 100 records of 136 ring bytes wrap the 16 KiB ring
            run_big(script_obj, round_ * 100, 100)
            total += ring.consume()
        assert total == 500
        assert all(1 <= len(chunk) <= size for chunk in lists)
        values = [v for chunk in lists for v in chunk]
        assert [v.seq for v in values] == list(range(500))  # type: ignore[attr-defined]
        assert ring.state().available == 0


def test_batched_bytes_callbacks_and_poll(script_obj: libbpf_py.LoadedObject) -> None:
    lists: list[list[bytes]] = []
    with RingBuffer(script_obj.maps["ring"], lists.append, batch=4) as ring:
        expected = run_script(script_obj, 3, [(5, False), (9, True), (33, False)] * 3)
        assert ring.poll(1.0) == 6
        assert [r for chunk in lists for r in chunk] == expected
        assert [len(c) for c in lists] == [4, 2]


def test_a_raising_batch_callback_stops_and_its_records_stay_consumed(
    script_obj: libbpf_py.LoadedObject,
) -> None:
    seen: list[int] = []

    def boom(chunk: list[bytes]) -> None:
        seen.append(len(chunk))
        raise KeyError("stop")

    with RingBuffer(script_obj.maps["ring"], boom, batch=2) as ring:
        run_script(script_obj, 0, [(8, False)] * 5)
        with pytest.raises(KeyError):
            ring.consume()
        assert seen == [2]
        assert len(ring.borrow()) == 3


@pytest.mark.parametrize("bad", [0, -1, True, 2.5])
def test_batch_must_be_a_positive_int(script_obj: libbpf_py.LoadedObject, bad: object) -> None:
    with pytest.raises(ValueError, match="batch"):
        RingBuffer(script_obj.maps["ring"], print, batch=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="callback"):
        RingBuffer(script_obj.maps["ring"], batch=4)


def test_no_memory_grows_over_many_borrows(script_obj: libbpf_py.LoadedObject) -> None:
    def rss_kib() -> int:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))

    with RingBuffer(script_obj.maps["ring"]) as ring:
        for _ in range(200):
            run_script(script_obj, 0, [(100, False)] * 32)
            with ring.borrow() as batch:
                sum(len(r) for r in batch)
        start = rss_kib()
        for _ in range(2000):
            run_script(script_obj, 0, [(100, False)] * 32)
            with ring.borrow() as batch:
                sum(len(r) for r in batch)
        assert rss_kib() - start < 2048  # 64,000 records borrowed: no growth beyond noise


def test_borrow_spans_every_ring_in_the_order_they_were_added(load: Loader) -> None:
    with (
        load("producer") as obj,
        RingBuffer(obj.maps["ring_a"], record_type="struct event") as ring,
    ):
        ring.add(obj.maps["ring_b"], record_type="struct event")
        obj.programs["produce_b"].test_run(PACKET, repeat=3)
        obj.programs["produce_a"].test_run(PACKET, repeat=2)
        with ring.borrow() as batch:
            assert batch.ring_count == 2
            assert list(batch.rings) == [0, 0, 1, 1, 1]
            producers = [struct.unpack_from("<QI", record)[1] for record in batch]
            assert producers == [0, 0, 1, 1, 1]
            assert list(batch.numpy(ring=1)["seq"]) == [0, 1, 2]
            assert list(batch.numpy(ring=0)["producer"]) == [0, 0]
        assert ring.state(0).available == 0 and ring.state(1).available == 0
        assert len(ring.drain()) == 0


def test_a_callback_that_consumes_the_same_ring_gets_no_record_twice(
    script_obj: libbpf_py.LoadedObject,
) -> None:
    seen: list[bytes] = []
    nested: list[int] = []

    def greedy(record: bytes) -> None:
        seen.append(record)
        if len(seen) == 2:
            nested.append(ring.consume())  # the rest, from inside the callback

    with RingBuffer(script_obj.maps["ring"], greedy) as ring:
        expected = run_script(script_obj, 0, [(8, False)] * 6)
        total = ring.consume()
        assert seen == expected  # each once, in order
        assert nested == [4] and total == 2
