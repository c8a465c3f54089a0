"""A randomized damage campaign: truncations, bit flips and deleted files at many offsets, over the
checkpoints and the log, and torn appends (a crash in the middle of writing a record that was never
acknowledged). After each, the store either opens with every acknowledged frame or is refused, and
``mem3d store check`` says the same; a refused store repairs into one that opens."""

import json
import shutil

import numpy as np
import pytest

from mem3d.apps.cli import main
from mem3d.errors import Mem3dError
from mem3d.io.repair import repair_store
from mem3d.io.verify import Verdict, inspect_store
from mem3d.io.wal_format import encode_record
from mem3d.service.durable import DurableMemory
from tests.mem3d.service.stores import CONFIG, assert_same, make_frames, reference, write_store

TRIALS = 90
SEED = 20261201


def damage(store, rng) -> str:
    """One random damage to one file of ``store``; what was done."""
    files = sorted(p for p in store.rglob("*") if p.is_file())
    log_files = [p for p in files if p.parent.name == "wal"]
    pool = log_files if rng.random() < 0.5 else files  # half the trials on the log, half anywhere
    target = pool[rng.integers(len(pool))]
    data = target.read_bytes()
    kind = ("truncate", "flip", "delete", "tear")[rng.integers(4)]
    where = target.relative_to(store)
    if kind == "tear":  # not damage: the unacknowledged record a crash cut short
        newest = max(p for p in log_files if p.suffix == ".wal")
        record = encode_record(99, [rng.bytes(int(rng.integers(1, 3000)))])
        cut = int(rng.integers(1, len(record)))
        newest.write_bytes(newest.read_bytes() + record[:cut])
        return f"tear: {cut} of {len(record)} bytes of a record appended to {newest.relative_to(store)}"
    if kind == "delete" or not data:
        target.unlink()
        return f"delete {where}"
    offset = int(rng.integers(len(data)))
    if kind == "truncate":
        target.write_bytes(data[:offset])
        return f"truncate {where} to {offset} of {len(data)} bytes"
    flipped = bytearray(data)
    flipped[offset] ^= 1 << int(rng.integers(8))
    target.write_bytes(bytes(flipped))
    return f"flip a bit of {where} at byte {offset}"


def verdict_of(store) -> str:
    try:
        return inspect_store(store).verdict.value
    except Mem3dError:  # e.g. a flipped schema version: not even checkable
        return "unreadable"


def opens(store, expected, n_acked: int) -> bool:
    """True if the store opens, then with every acknowledged frame; False if it is refused."""
    try:
        memory = DurableMemory(store, CONFIG)
    except Mem3dError:
        return False
    try:
        assert memory.seq == n_acked
        assert_same(memory.map, expected)
    finally:
        memory.close(checkpoint=False)
    return True


@pytest.mark.slow
def test_every_damage_is_either_harmless_or_refused(tmp_path, scene, concepts, camera, capsys):
    frames = make_frames(scene, concepts, camera, 5)
    pristine = write_store(tmp_path / "pristine", frames, checkpoint_after=3)  # ckpt + 2 records in the log
    expected = reference(frames)
    rng = np.random.default_rng(SEED)
    verdicts: dict[str, int] = {}
    for trial in range(TRIALS):
        store = tmp_path / f"trial{trial}"
        shutil.copytree(pristine, store)
        what = damage(store, rng)
        verdict = verdict_of(store)
        if trial % 10 == 0:  # the command says the same as the library
            capsys.readouterr()
            status = main(["store", "check", str(store), "--json"])
            printed = capsys.readouterr().out
            if verdict == "unreadable":
                assert status == 1, what
            else:
                assert (status, json.loads(printed)["verdict"]) == (int(verdict == "damaged"), verdict), what
        opened = opens(store, expected, len(frames))
        assert opened == (verdict in ("ok", "torn tail")), (what, verdict)
        assert verdict == "torn tail" if what.startswith("tear") else verdict != "torn tail", (what, verdict)
        verdicts[verdict] = verdicts.get(verdict, 0) + 1
        if verdict == "damaged" and verdicts[verdict] % 4 == 1:
            assert repair_store(store, accept_loss=True).changed, what
            assert inspect_store(store).verdict is Verdict.OK, what
            memory = DurableMemory(store, CONFIG)
            assert memory.seq == len(frames), what  # every seq accounted for: applied or marked lost
            memory.close(checkpoint=False)
        shutil.rmtree(store)
    assert min(verdicts.get(v, 0) for v in ("ok", "torn tail", "damaged")) >= 10, verdicts
