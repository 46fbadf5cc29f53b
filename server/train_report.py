"""What `browsertrain train` prints: the live progress line, and the run's (or the tools') summary as text."""

from __future__ import annotations

from .runs.train_config import settings_of

# Per task: the epoch record's validation metric the progress line shows, and its short name.
PROGRESS_METRIC = {
    "classification": ("val_accuracy", "val_acc"),
    "detection": ("val_iou", "val_iou"),
    "landmarks": ("val_nme", "val_nme"),
}


def result_text(summary: dict) -> str:
    """A finished run's headline number in words: validation accuracy, mAP for detection, NME for landmarks."""
    task = summary.get("task", "classification")
    if task == "detection":
        return f"mAP@0.5 {_fixed(summary.get('map50'))}, mAP@0.5:0.95 {_fixed(summary.get('map'))}"
    if task == "landmarks":
        return f"NME {_fixed(summary.get('nme'))}"
    return f"val accuracy {summary.get('val_accuracy')}"


def _fixed(value) -> str:
    return "-" if value is None else f"{value:.3f}"


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
    key, name = PROGRESS_METRIC.get(settings_of(state.get("config")).task, PROGRESS_METRIC["classification"])
    val = last.get(key)
    return (
        f"\repoch {done}/{total} [{'#' * filled}{'-' * (width - filled)}] loss {last['train_loss']:.4f}"
        f" {name} {val if val is None else f'{val:.3f}'} {last['images_per_second']:.0f} img/s"
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
        f"{'-' if loss is None else f'{loss:.4f}'}, {result_text(summary)}, {_speed(summary)}"
    )


def _speed(summary: dict) -> str:
    median, steady = summary.get("images_per_second"), summary.get("images_per_second_steady")
    if median is None:
        return "no speed measured"
    after_warm_up = "" if steady is None else f"; {steady:.0f} after the first epoch's warm-up"
    return f"{median:.0f} images/s (median of its epochs{after_warm_up})"
