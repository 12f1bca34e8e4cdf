"""Training: what a run is (`spec`), the loop (`loop`), the recipes (`protocols`), the run directory it writes
(`rundir`) and the background writer that keeps that directory resumable (`runwriter`)."""
from resemote.training.loop import class_weights, model_and_optimizer, train, train_one_epoch, training_forward
from resemote.training.spec import RunSpec

__all__ = ["RunSpec", "class_weights", "model_and_optimizer", "train", "train_one_epoch", "training_forward"]
