"""What `browsertrain train` prints: the live progress line, and the run's (or the tools') summary as text."""

from __future__ import annotations

from .runs.train_config import settings_of


def progress_line(state: dict, total_epochs: int | None) -> str:
    epochs = state.get("epochs") or []
    if not epochs:
        return f"\r{state.get('status', '')[:70]:<70}"
    last = epochs[-1]
    done = last["epoch"] + 1
    planned = settings_of(state.get("config")).epochs  # 'auto' until the page has chosen it
    total = (planned if isinstance(planned, int) else None) or total_epochs or done
    width = 24
    filled = int(width * min(done / total, 1))
    val = last.get("val_accuracy")
    return (
        f"\repoch {done}/{total} [{'#' * filled}{'-' * (width - filled)}] loss {last['train_loss']:.4f}"
        f" val_acc {val if val is None else f'{val:.3f}'} {last['images_per_second']:.0f} img/s"
    )


def describe(summary: dict) -> str:
    """The summary as text: a run's numbers, an overfit verdict, or the tools' findings."""
    if "overfit" in summary:
        return f"run {summary['run_id']} (sanity): {summary['overfit']['message']}"
    if "run_id" not in summary:
        lines = []
        finder = summary.get("find_batch_size")
        if finder:
            lines.append(f"batch size {finder['batch_size']}: {finder['reason']}")
            lines += [
                f"  batch {row['batch_size']:>4}: "
                + (f"{row['images_per_second']:8.1f} images/s" if row["fits"] else f"does not fit ({row['error']})")
                for row in finder["table"]
            ]
        if "lr_range_test" in summary:
            lines.append(f"suggested learning rate {summary['suggested_lr']}: {summary['lr_range_test']['reason']}")
        return "\n".join(lines)
    loss = summary.get("final_loss")
    return (
        f"run {summary['run_id']}: {summary['epochs']} epochs on {summary['backend']}, final loss "
        f"{'-' if loss is None else f'{loss:.4f}'}, val accuracy {summary['val_accuracy']}, {_speed(summary)}"
    )


def _speed(summary: dict) -> str:
    median, steady = summary.get("images_per_second"), summary.get("images_per_second_steady")
    if median is None:
        return "no speed measured"
    after_warm_up = "" if steady is None else f"; {steady:.0f} after the first epoch's warm-up"
    return f"{median:.0f} images/s (median of its epochs{after_warm_up})"
