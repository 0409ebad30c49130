"""The continuous-thought forward: CoT-SFT at stage 0, hidden states fed back, gradients through the chain."""

from __future__ import annotations

import pytest
import torch

from rdistill.methods.coconut.collator import CoconutCollator
from rdistill.methods.coconut.curriculum import encode_row
from rdistill.methods.coconut.thoughts import coconut_forward, position_ids_from_mask


def _batch(student, examples, stage, c=2, max_stage=3):
    _, tokenizer, tokens = student
    rows = [encode_row(tokenizer, ex.fields["question"], ex.steps, ex.label, stage, c, tokens=tokens,
                       max_stage=max_stage).as_features() for ex in examples]
    return CoconutCollator(pad_token_id=tokenizer.pad_token_id)(rows)


class _Recorder:
    """Inputs embeds and last hidden states of every backbone call, concatenated along time."""

    def __init__(self, model):
        self.inputs, self.hidden = [], []
        self.handles = [
            model.model.register_forward_pre_hook(self._pre, with_kwargs=True),
            model.model.register_forward_hook(self._post),
        ]

    def _pre(self, module, args, kwargs):
        kwargs["inputs_embeds"].retain_grad()
        self.inputs.append(kwargs["inputs_embeds"])

    def _post(self, module, args, output):
        self.hidden.append(output.last_hidden_state)

    def remove(self):
        for h in self.handles:
            h.remove()


def test_stage0_single_row_is_exactly_the_cot_sft_loss(coconut_student, examples):
    model, _, _ = coconut_student
    batch = _batch(coconut_student, examples[2:3], stage=0)
    assert not batch["thought_positions"].any()
    out = coconut_forward(model, **batch)
    reference = model(input_ids=batch["input_ids"], labels=batch["labels"]).loss
    assert out.n_passes == 1
    assert out.loss.item() == reference.item()  # bit for bit, not approximately


def test_stage0_padded_batch_is_exactly_the_cot_sft_loss(coconut_student, examples):
    model, _, _ = coconut_student
    batch = _batch(coconut_student, examples, stage=0)
    assert (batch["attention_mask"][:, 0] == 0).any() and (batch["attention_mask"][:, -1] == 0).any()
    out = coconut_forward(model, **batch)
    reference = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                      position_ids=position_ids_from_mask(batch["attention_mask"]), labels=batch["labels"]).loss
    assert out.loss.item() == reference.item()
    # the same row alone gives the same token losses: padding moves nothing
    alone = coconut_forward(model, **_batch(coconut_student, examples[:1], stage=0))
    row = out.token_losses[0][batch["attention_mask"][0].bool()]
    torch.testing.assert_close(row, alone.token_losses[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_stage_k_feeds_back_k_times_c_hidden_states(coconut_student, examples, stage):
    model, tokenizer, tokens = coconut_student
    c = 2
    batch = _batch(coconut_student, examples, stage=stage, c=c)
    recorder = _Recorder(model)
    out = coconut_forward(model, **batch)
    recorder.remove()
    inputs, hidden = torch.cat(recorder.inputs, 1), torch.cat(recorder.hidden, 1)
    token_embeds = model.get_input_embeddings()(batch["input_ids"])
    mask = batch["thought_positions"]
    fed_back = torch.zeros_like(mask)
    fed_back[:, 1:] = (inputs[:, 1:] - hidden[:, :-1]).abs().amax(-1) == 0
    fed_back &= batch["attention_mask"].bool()  # left padding: a zero pad embedding can equal a zero state
    n_steps = torch.tensor([len(ex.steps) for ex in examples])
    expected = c * (n_steps if stage == 3 else n_steps.clamp(max=stage))  # stage 3 = max_stage: all latent
    assert fed_back.sum(1).tolist() == expected.tolist()
    assert torch.equal(fed_back, mask)
    assert torch.equal(inputs[~mask], token_embeds[~mask])  # every other position got its token embedding
    assert out.n_passes == int(expected.max()) + 1 == len(recorder.inputs)
    assert batch["input_ids"][mask].eq(tokens.latent_id).all()


def test_loss_has_gradient_wrt_first_thought_input(coconut_student, examples):
    model, _, _ = coconut_student
    batch = _batch(coconut_student, examples, stage=2)
    recorder = _Recorder(model)
    out = coconut_forward(model, **batch)
    recorder.remove()
    out.loss.backward()
    first_thought_pass = recorder.inputs[1]  # pass 0 is the prefix up to <bot>; pass 1 starts at thought 1
    assert first_thought_pass.grad is not None
    rows = batch["thought_positions"].any(1)
    assert (first_thought_pass.grad[rows, 0].abs().sum(-1) > 0).all()
    # ...and through it into the prefix: the <bot> position's input embedding gets gradient too
    assert recorder.inputs[0].grad[:, -1].abs().sum() > 0
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def _reference_forward(model, batch):
    """Slow reference: rebuild the whole input and rerun the full model for every thought column."""
    ids, mask, thoughts = batch["input_ids"], batch["attention_mask"], batch["thought_positions"]
    embeds = model.get_input_embeddings()(ids)
    positions = position_ids_from_mask(mask)
    for col in thoughts.any(0).nonzero().flatten().tolist():
        hidden = model.model(inputs_embeds=embeds, attention_mask=mask, position_ids=positions).last_hidden_state
        embeds = torch.where(thoughts[:, col, None, None] & (torch.arange(ids.shape[1]) == col)[None, :, None],
                             hidden[:, col - 1:col].expand_as(embeds), embeds)
    logits = model(inputs_embeds=embeds, attention_mask=mask, position_ids=positions).logits
    return torch.nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1), batch["labels"][:, 1:].flatten())


def test_kv_cache_passes_match_full_recomputation_in_loss_and_gradients(coconut_student, examples):
    model, _, _ = coconut_student
    batch = _batch(coconut_student, examples, stage=3)
    loss = coconut_forward(model, **batch).loss
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    reference = _reference_forward(model, batch)
    reference.backward()
    torch.testing.assert_close(loss, reference, atol=1e-5, rtol=1e-5)
    # gradients flow through the fed-back states like through the reference's (a detach would break this)
    for name, param in model.named_parameters():
        torch.testing.assert_close(grads[name], param.grad, atol=1e-5, rtol=1e-4, msg=name)
    # and the thoughts matter: the same rows with token embeddings at the thoughts give another loss
    plain = coconut_forward(model, **{**batch, "thought_positions": torch.zeros_like(batch["thought_positions"])})
    assert abs(plain.loss.item() - loss.item()) > 1e-4


def test_position_list_form_and_bad_inputs(coconut_student, examples):
    model, _, _ = coconut_student
    batch = _batch(coconut_student, examples[:2], stage=1)
    positions = torch.stack([torch.nn.functional.pad(r.nonzero().flatten(), (0, 3), value=-1)
                             for r in batch["thought_positions"]])
    assert coconut_forward(model, **{**batch, "thought_positions": positions}).loss.item() == \
        coconut_forward(model, **batch).loss.item()
    bad = batch["thought_positions"].clone()
    bad[:, 0] = True
    with pytest.raises(ValueError, match="position 0"):
        coconut_forward(model, **{**batch, "thought_positions": bad})


def test_all_layers_ends_with_the_last_hidden_state(coconut_student, examples):
    """``all_layers=True`` (what latent distillation reads) keeps every layer; its last is the
    ordinary result, thoughts fed back alike."""
    import torch

    from rdistill.methods.coconut.collator import CoconutCollator
    from rdistill.methods.coconut.stages import stage_features
    from rdistill.methods.coconut.config import CoconutConfig
    from rdistill.methods.coconut.thoughts import continuous_hidden

    model, tokenizer, tokens = coconut_student
    rows = stage_features(examples, tokenizer, tokens, CoconutConfig(c_thoughts=1, max_stage=2).curriculum(), 2)
    batch = CoconutCollator(tokenizer.pad_token_id)(rows)
    args = (model, batch["input_ids"], batch["attention_mask"], batch["thought_positions"])
    with torch.no_grad():
        last, passes = continuous_hidden(*args)
        layers, passes_all = continuous_hidden(*args, all_layers=True)
    assert passes == passes_all == 3 and len(layers) == model.config.num_hidden_layers + 1
    torch.testing.assert_close(layers[-1], last)
