"""The model card: a model measured next to baselines on the same real data (DAVIS-2016 val, MOT17-mini).

``measure.run_card`` measures and writes everything; the parts: ``data`` (clips and SOT targets),
``runs`` (the model through ``unicorn.Tracker`` and the classical baselines), ``detections`` and ``peers``
(the BoT-SORT peer on the model's own detections), ``scores``, ``speed`` (a child process per task),
``render`` (markdown) and ``figures`` (plots, frame grids).
"""
