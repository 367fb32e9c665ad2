"""Readers by spec: a registry reader ("reader@5"), a .keras file, or one member of a reader
ensemble ("reader@5:member_3"), so an ensemble's member can be fine-tuned or joined again."""

from __future__ import annotations

from pathlib import Path


def split_member(spec: str) -> tuple[str, int | None]:
    """("reader@5", 3) for "reader@5:member_3"; (spec, None) for a whole reader."""
    base, _, member = str(spec).rpartition(":member_")
    if not base:
        return str(spec), None
    if not member.isdigit() or int(member) < 1:
        raise ValueError(f"{spec!r}: name an ensemble's member as READER:member_N with N >= 1")
    return base, int(member)


def resolve_reader(spec: str) -> tuple[Path, str, dict]:
    """(path, model id, card) of a reader spec; a member's card is cut from its ensemble's card."""
    from digitlab.predict import read_card, resolve_model

    base, member = split_member(spec)
    path, model_id, _ = resolve_model(base)
    card = read_card(path)
    if member is None:
        return path, model_id, card
    entries = card.get("members") or []
    if not 1 <= member <= len(entries):
        raise ValueError(f"{model_id} has no member_{member}: its card lists {len(entries)} members")
    entry = entries[member - 1]
    config = {**card.get("config", {}), "recipe": entry.get("recipe"), "member": entry.get("member", 0)}
    return path, f"{model_id}:member_{member} = {entry['model']}", {
        "config": config, "train_seconds": entry.get("train_seconds"),
        "metrics": {"validation_sequence": {"accuracy": entry.get("validation_sequence")}}}


def load_reader_model(spec: str):
    """The Keras model of a reader spec; a member comes out as a standalone reader."""
    import keras

    from digitlab.predict import resolve_model

    base, member = split_member(spec)
    path, model_id, _ = resolve_model(base)
    model = keras.saving.load_model(path if path.suffix == ".keras" else path / "model.keras")
    if member is None:
        return model
    names = [layer.name for layer in model.layers if layer.name.startswith("member_")]
    if f"member_{member}" not in names:
        raise ValueError(f"{model_id} has no member_{member}; its members: {names or 'none (a single reader)'}")
    nested = model.get_layer(f"member_{member}")
    inputs = keras.Input(shape=nested.input_shape[1:], name="line")
    return keras.Model(inputs, nested(inputs), name=f"reader_member_{member}")
