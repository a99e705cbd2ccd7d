"""``posestylizer bench``: throughput of inference, training iterations and the loader, as shares of the machine.

Each case (:mod:`posestylizer.bench.cases`) runs in its own worker process (:mod:`posestylizer.bench.worker`);
every repetition follows the ceiling's probes (:mod:`posestylizer.bench.ceiling`: a matmul and 3x3 convolutions,
forward and backward) timed in the same process, dtype and threads, so each throughput is also a share of the best
this machine did in the run. ``compare=REV`` runs an older commit's code in a second worker per
case, alternating repetitions, and reports the paired speed-ups. Results: a markdown table and a JSON file with
the machine's facts, the settings, every repetition and the summaries.

    from posestylizer.bench.suite import run
    result = run(["train:demo:8"], compare="main", reps=7)
    print(result.table)

This package imports nothing itself, and the modules a worker imports (``cases``, ``measure``, ``worker``) use
only what every revision of the package has, since they also drive older code.
"""
