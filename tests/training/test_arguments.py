"""``training.lr_scheduler`` and ``training.epochs`` reach the Trainer as the recipe names them."""

import pytest
import torch
from transformers import get_scheduler

from rdistill.methods.registry import load_recipe
from rdistill.training.arguments import training_arguments


def _cfg(model_dir, **training):
    return load_recipe(None, raw={"data": {"train_file": "x"}, "model": {"name": str(model_dir)},
                                  "training": {"precision": "fp32", **training}})


# The learning rate after 25 of 100 steps, as a share of the peak: linear 1 - 0.25,
# cosine (1 + cos(pi / 4)) / 2, constant 1.
@pytest.mark.parametrize("schedule, share", [("linear", 0.75), ("cosine", 0.8535534),
                                             ("constant_with_warmup", 1.0)])
def test_lr_scheduler_sets_the_schedule_the_trainer_steps(tiny_causal_dir, tmp_path, schedule, share):
    cfg = _cfg(tiny_causal_dir, max_steps=100, warmup_ratio=0.0, lr_scheduler=schedule)
    args = training_arguments(cfg, tmp_path, has_dev=False, group_by_length=False)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=args.learning_rate)
    # As Trainer.create_scheduler builds it from the arguments.
    scheduler = get_scheduler(args.lr_scheduler_type, optimizer, num_warmup_steps=args.get_warmup_steps(100),
                              num_training_steps=args.max_steps)
    for _ in range(25):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] / args.learning_rate == pytest.approx(share, abs=1e-6)


# training.epochs is the budget unless training.max_steps (> 0) replaces it.
@pytest.mark.parametrize("training, epochs, steps", [({"epochs": 2.5}, 2.5, -1),
                                                    ({"epochs": 2, "max_steps": 7}, 2, 7)])
def test_epochs_reach_the_trainer_unless_max_steps_replaces_them(tiny_causal_dir, tmp_path, training,
                                                                 epochs, steps):
    args = training_arguments(_cfg(tiny_causal_dir, **training), tmp_path, has_dev=False, group_by_length=False)
    assert (args.num_train_epochs, args.max_steps) == (epochs, steps)
