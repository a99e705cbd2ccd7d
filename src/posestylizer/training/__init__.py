"""Training APS with the reference objective (reference §5): loop, torchrun scale-out, exact resume.

- :mod:`~posestylizer.training.loop`: :class:`Trainer` (networks, optimisers, one iteration, full state);
- :mod:`~posestylizer.training.run`: :func:`train` (a run folder; one loop until the policy says stop);
- :mod:`~posestylizer.training.hooks`: scalars, progress bar, sample grids, checkpoints around each step;
- :mod:`~posestylizer.training.distributed`: torchrun process groups and the per-rank epoch sampler;
- :mod:`~posestylizer.training.state`: atomic checkpoint files, RNG states;
- :mod:`~posestylizer.training.schedule`: the training policy: stop condition and learning rate, by epochs (the
  reference's linear decay) or by a wall-clock budget;
- :mod:`~posestylizer.training.pool`: the fake-pair image pool.

The objective itself is :class:`posestylizer.training.losses.APSObjective`.
"""
