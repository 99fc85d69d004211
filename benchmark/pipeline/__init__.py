"""The run pipeline, in the order `bench run` takes it: the submission spec (submission),
its inputs prepared (inputs: corrupted and augmented sets), the units planned and executed
(units: train, evaluate, eval_transform), and the report written (runner)."""
