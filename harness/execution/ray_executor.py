"""The Ray executor (``octoglot run --executor ray``): a run's work spread over Ray actors.

Each actor is a ``harness.execution.worker.Worker``: one model instance, loaded once and reused for every piece of
work it is given, with the resources one model needs (a GPU when the device is one, else a CPU). The
driver plans the run, hands out the work and writes the run directory, so the result is what a local run
writes (same scores and per-sample records; the manifest names the executor):

1. generation groups (the local run's ``generation_chunks``, so every request meets the same batch
   neighbours as locally) and log-likelihood units, in any order, on any actor;
2. generation units, each actor told the generations the others computed for them.

Every worker opens the model-keyed response cache (``OCTOGLOT_RESPONSE_CACHE`` / ``OCTOGLOT_CACHE``, a
shared path on a cluster), so a re-run or ``--resume`` makes no model call for finished requests; the
driver writes each unit's records as it finishes, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import os

from harness.core.errors import OctoglotError
from harness.execution.engine import Counters, merge_counts
from harness.execution.plan import Unit
from harness.execution.worker import ModelSettings, Worker, generation_chunks

# settings the workers must share with the driver (none is a secret; API keys stay in each node's
# environment and never enter Ray's runtime environment, which Ray stores and logs)
SHARED_ENV = ("OCTOGLOT_CACHE", "OCTOGLOT_RESPONSE_CACHE", "OCTOGLOT_LANGID", "OCTOGLOT_FAMILIES", "OCTOGLOT_PACKS",
              "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HOME")


class RayWorker:
    """The actor: a Worker plus the calls the driver makes on it (each returns a tag, so the driver knows
    which piece of work came back)."""

    def __init__(self, settings: ModelSettings):
        self.worker = Worker(settings)

    def generate(self, tag, items):
        return tag, self.worker.generate_ahead(items)

    def score(self, tag, unit: Unit, known):
        if known:
            self.worker.remember([item for item, _ in known], [out for _, out in known])
        return tag, self.worker.score(unit)

    def counts(self) -> Counters:
        return self.worker.engine.counts

    def close(self) -> None:
        self.worker.close()


def connect(address: str | None):
    """Join the cluster at ``address``, or start a local Ray instance (stopped again by ``run``)."""
    try:
        import ray
    except ImportError:
        raise OctoglotError("--executor ray: Ray is not installed (pip install 'octoglot[ray]')") from None
    if ray.is_initialized():
        return ray, False
    if address:
        check_reachable(address)
    env = {k: os.environ[k] for k in SHARED_ENV if k in os.environ}
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False,
                 runtime_env={"env_vars": env} if env else None)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise OctoglotError(f"--ray-address {address}: cannot join the Ray cluster: "
                            f"{str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}") \
            from None
    return ray, True


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Ray waits minutes for a head that is not there; a HOST:PORT that accepts no connection fails here."""
    import socket

    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise OctoglotError(f"--ray-address: expected HOST:PORT (e.g. 10.0.0.1:6379) or 'auto', got '{address}'")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise OctoglotError(f"--ray-address {address}: cannot connect to the Ray head "
                            f"({exc.strerror or type(exc).__name__}); is `ray start --head` running there?") from None


def worker_count(ray, requested: int | None, device: str, work: int) -> tuple[int, dict]:
    """How many actors, and what each asks Ray for: a GPU per actor on a GPU device, else a CPU."""
    resources = ray.cluster_resources()
    gpu = device.startswith("cuda")
    per_actor = {"num_cpus": 1, "num_gpus": 1} if gpu else {"num_cpus": 1}
    available = int(resources.get("GPU" if gpu else "CPU", 0))
    if requested is None:
        if available < 1:
            raise OctoglotError(f"--executor ray: the cluster has no {'GPU' if gpu else 'CPU'} for a worker "
                                f"(--device {device})")
        requested = available
    return max(1, min(requested, work)), per_actor


def run(settings: ModelSettings, units: list[Unit], progress, on_unit, address: str | None,
        workers: int | None, device: str) -> tuple[dict, Counters]:
    """Run ``units`` on Ray actors; ``on_unit(unit, results)`` is called on the driver as each finishes.
    Returns what the manifest records of the executor, and the workers' request counters added up."""
    ray, started_here = connect(address)
    from ray.util import ActorPool

    chunks = generation_chunks(units)
    generated_units = [u for u in units if u.task.kind == "generate"]
    first = [("chunk", i) for i in range(len(chunks))] + \
        [("unit", k) for k, u in enumerate(units) if u.task.kind != "generate"]
    actors = []
    try:
        count, per_actor = worker_count(ray, workers, device, max(len(first), len(generated_units), 1))
        actor_class = ray.remote(**per_actor)(RayWorker)
        actors = [actor_class.remote(settings) for _ in range(count)]
        pool = ActorPool(actors)
        gen_bar = progress.add_task("generating", total=sum(len(c) for c in chunks)) if chunks else None
        bar = progress.add_task("scoring", total=sum(len(u.samples) for u in units))
        outputs: dict[tuple[int, int], str] = {}

        def item(k: int, i: int) -> tuple[str, object]:
            return units[k].task.id, units[k].samples[i]

        def submit(tag):
            kind, index = tag
            if kind == "chunk":
                pairs = [item(k, i) for k, i in chunks[index]]
                pool.submit(lambda actor, _: actor.generate.remote(tag, pairs), None)
            else:
                unit = units[index]
                known = [(item(index, i), outputs[(index, i)]) for i in range(len(unit.samples))
                         if (index, i) in outputs]
                pool.submit(lambda actor, _: actor.score.remote(tag, unit, known), None)

        def drain() -> None:
            while pool.has_next():
                (kind, index), result = _get(pool)
                if kind == "chunk":
                    if result is not None:
                        outputs.update(zip(chunks[index], result))
                    progress.advance(gen_bar, len(chunks[index]))
                else:
                    on_unit(units[index], result)
                    progress.advance(bar, len(result))

        for tag in first:
            submit(tag)
        drain()
        for k, unit in enumerate(units):
            if unit.task.kind == "generate":
                submit(("unit", k))
        drain()
        counts = merge_counts(ray.get([a.counts.remote() for a in actors]))
        ray.get([a.close.remote() for a in actors])
        info = {"name": "ray", "address": address or "local", "workers": count, "per_worker": per_actor,
                "ray": ray.__version__}
        return info, counts
    finally:
        for actor in actors:
            ray.kill(actor)
        if started_here:
            ray.shutdown()


def _get(pool):
    """The next finished piece of work; a worker's OctoglotError (say, an unwritable cache) is re-raised
    as itself, a lost worker becomes one OctoglotError."""
    import ray

    try:
        return pool.get_next_unordered()
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, OctoglotError):
            raise OctoglotError(str(cause)) from None
        raise OctoglotError(f"ray worker failed: {str(cause or exc).strip().splitlines()[0]}") from None
    except ray.exceptions.RayActorError as exc:
        raise OctoglotError(f"ray worker lost: {str(exc).strip().splitlines()[0]}") from None
