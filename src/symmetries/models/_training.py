"""Training a potential on energies and forces: Adam, early stopping, checkpoint and resume."""

from __future__ import annotations

import copy
from pathlib import Path

import torch

from symmetries._internal.atomic import save_atomic
from symmetries._internal.extras import require
from symmetries.models._batch import AtomsBatch, AtomsGraphs


def potential_loss(pred: dict, batch: AtomsBatch, energy_weight: float = 1.0, force_weight: float = 1.0,
                   stress_weight: float = 0.0) -> torch.Tensor:
    r"""Weighted mean squared errors of energy per atom, force components and stress.

    .. math:: L = w_E \overline{\left(\frac{\hat E_b - E_b}{N_b}\right)^2}
        + w_F \overline{(\hat F_{ia} - F_{ia})^2} + w_\sigma \overline{(\hat\sigma_{b,ab} - \sigma_{b,ab})^2}

    Args:
        pred: the model's output: ``"energy"`` ``[B]``, ``"forces"`` ``[N, 3]`` and, with a
            stress weight, ``"stress"`` ``[B, 3, 3]``.
        batch: the :class:`~symmetries.models.AtomsBatch` with the labels.
        energy_weight: :math:`w_E` (default: 1).
        force_weight: :math:`w_F` (default: 1; 0 skips the forces).
        stress_weight: :math:`w_\sigma` (default: 0; used only when the data have stress).

    Returns:
        :math:`L`, a scalar tensor.
    """
    d = batch.data
    loss = energy_weight * ((pred["energy"] - d.energy) / d.n_atoms).pow(2).mean()
    if force_weight:
        loss = loss + force_weight * (pred["forces"] - d.forces).pow(2).mean()
    if stress_weight and d.stress is not None:
        loss = loss + stress_weight * (pred["stress"] - d.stress).pow(2).mean()
    return loss


def _predict(model, batch: AtomsBatch, stress: bool):
    return model(**batch.inputs(), compute_forces=True, compute_stress=stress)


def evaluate_potential(model, data, batch_size: int = 16) -> dict[str, float]:
    """Errors of a potential on a data set, in eval mode (the model's mode is restored).

    Args:
        model: the :class:`~symmetries.models.Potential`.
        data: an :class:`~symmetries.data.AtomsData` (moved to the model's device and
            dtype, graphs built at ``model.cutoff``) or :class:`AtomsGraphs`.
        batch_size: frames per forward pass (default: 16).

    Returns:
        ``energy_mae`` (eV per frame), ``energy_mae_per_atom``, ``force_mae``,
        ``force_rmse`` (eV/A), ``stress_mae`` (eV/A^3, when the data have stress) and
        ``force_std`` of the data for scale, as floats.
    """
    graphs = data if isinstance(data, AtomsGraphs) else AtomsGraphs(_as_model(data, model), model.cutoff)
    was_training = model.training
    model.eval()
    e_err, e_atom, f_err, s_err = [], [], [], []
    stress = graphs.data.stress is not None
    for batch in graphs.batches(batch_size):
        pred = _predict(model, batch, stress)
        d = batch.data
        e_err.append((pred["energy"] - d.energy).detach().abs())
        e_atom.append(e_err[-1] / d.n_atoms)
        f_err.append((pred["forces"] - d.forces).detach().reshape(-1))
        if stress:
            s_err.append((pred["stress"] - d.stress).detach().abs().reshape(-1))
    model.train(was_training)
    f = torch.cat(f_err).double()
    out = {"energy_mae": float(torch.cat(e_err).mean()), "energy_mae_per_atom": float(torch.cat(e_atom).mean()),
           "force_mae": float(f.abs().mean()), "force_rmse": float(f.pow(2).mean().sqrt()),
           "force_std": graphs.data.force_std}
    if stress:
        out["stress_mae"] = float(torch.cat(s_err).mean())
    return out


def _as_model(data, model):
    p = next(iter(model.buffers()))
    return data.to(device=p.device, dtype=model.energy_shift.dtype)


def train_potential(model, train, val=None, *, epochs: int = 100, batch_size: int = 8, lr: float = 5e-3,
                    energy_weight: float = 1.0, force_weight: float = 1.0, stress_weight: float = 0.0,
                    patience: int = 20, lr_factor: float = 0.5, lr_patience: int = 5, checkpoint=None,
                    seed: int = 0, fit_reference: bool = True, progress: bool = False) -> dict:
    """Train a :class:`~symmetries.models.Potential` on energies and forces.

    Each epoch runs Adam (learning rate ``lr``) over shuffled batches of ``batch_size``
    frames of ``train`` (an :class:`~symmetries.data.AtomsData`) on
    :func:`potential_loss`, then computes the same loss on ``val`` (or on ``train`` when
    no ``val`` is given). The learning rate is multiplied by ``lr_factor`` after
    ``lr_patience`` epochs without improvement; training stops after ``patience`` such
    epochs or ``epochs`` in all, and the model is left with the weights of the best
    validation epoch.

    Args:
        model: the :class:`~symmetries.models.Potential`.
        train: the training frames, an :class:`~symmetries.data.AtomsData`.
        val: the validation frames (default: ``None``, the training frames).
        epochs: at most this many epochs (default: 100).
        batch_size: frames per step (default: 8).
        lr: Adam's learning rate (default: 5e-3).
        energy_weight, force_weight, stress_weight: the weights of :func:`potential_loss`
            (defaults: 1, 1, 0; the stress only when ``train`` has stress).
        patience: stop after this many epochs without improvement (default: 20).
        lr_factor: multiply the learning rate by this on a plateau (default: 0.5).
        lr_patience: epochs without improvement before that (default: 5).
        checkpoint: a file written after every epoch with the model, optimizer, scheduler,
            shuffling RNG, epoch, best weights and history (all loadable with
            ``torch.load(weights_only=True)``). When the file exists training resumes from
            it exactly: an interrupted and resumed run gives the same weights as an
            uninterrupted one (default: ``None``, no checkpoint).
        seed: seeds the shuffling (default: 0).
        fit_reference: first fit the per-species energies and the scale
            (:meth:`Potential.fit_reference`) on ``train`` (default: ``True``; not when
            resuming from a checkpoint).
        progress: show a tqdm progress bar (default: ``False``).

    Returns:
        The history: per epoch ``train_loss``, ``val_loss``, ``lr``; ``best_epoch``,
        ``best_val_loss``, ``epochs_run`` and ``stopped_early``.
    """
    train_g = AtomsGraphs(_as_model(train, model), model.cutoff)
    val_g = AtomsGraphs(_as_model(val, model), model.cutoff) if val is not None else train_g
    stress = stress_weight > 0 and train.stress is not None
    weights = dict(energy_weight=energy_weight, force_weight=force_weight, stress_weight=stress_weight if stress else 0.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=lr_factor, patience=lr_patience)
    generator = torch.Generator().manual_seed(seed)
    state = {"epoch": 0, "best_val_loss": float("inf"), "best_epoch": -1, "bad_epochs": 0, "stopped_early": False,
             "history": {"train_loss": [], "val_loss": [], "lr": []}}
    best_model = None
    path = Path(checkpoint) if checkpoint is not None else None
    if path is not None and path.exists():
        saved = torch.load(path, weights_only=True, map_location=model.energy_shift.device)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        generator.set_state(saved["rng"])
        best_model = saved["best_model"]
        state = saved["state"]
    elif fit_reference:
        model.fit_reference(train)

    epochs_iter = range(state["epoch"], epochs)
    if progress:
        require("tqdm", extra="study", feature="train_potential(progress=True)")
        from tqdm.auto import tqdm

        epochs_iter = tqdm(epochs_iter, desc="train potential", initial=state["epoch"], total=epochs)
    for epoch in epochs_iter:
        if state["stopped_early"]:
            break
        model.train()
        total, count = 0.0, 0
        for batch in train_g.batches(batch_size, shuffle=True, generator=generator):
            loss = potential_loss(_predict(model, batch, stress), batch, **weights)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total, count = total + float(loss.detach()) * len(batch.data), count + len(batch.data)
        val_loss = _loss_on(model, val_g, batch_size, stress, weights)
        scheduler.step(val_loss)
        h = state["history"]
        h["train_loss"].append(total / max(count, 1))
        h["val_loss"].append(val_loss)
        h["lr"].append(optimizer.param_groups[0]["lr"])
        if val_loss < state["best_val_loss"]:
            state.update(best_val_loss=val_loss, best_epoch=epoch, bad_epochs=0)
            best_model = copy.deepcopy(model.state_dict())
        else:
            state["bad_epochs"] += 1
            state["stopped_early"] = state["bad_epochs"] >= patience
        state["epoch"] = epoch + 1
        if progress:
            epochs_iter.set_postfix(train=f"{h['train_loss'][-1]:.3g}", val=f"{val_loss:.3g}")
        if path is not None:
            save_atomic({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                         "scheduler": scheduler.state_dict(), "rng": generator.get_state(),
                         "best_model": best_model, "state": state}, path)
    if best_model is not None:
        model.load_state_dict(best_model)
    model.eval()
    return {**state["history"], "best_epoch": state["best_epoch"], "best_val_loss": state["best_val_loss"],
            "epochs_run": state["epoch"], "stopped_early": state["stopped_early"]}


def _loss_on(model, graphs: AtomsGraphs, batch_size: int, stress: bool, weights: dict) -> float:
    model.eval()
    total = 0.0
    for batch in graphs.batches(batch_size):
        total += float(potential_loss(_predict(model, batch, stress), batch, **weights).detach()) * len(batch.data)
    return total / len(graphs)
