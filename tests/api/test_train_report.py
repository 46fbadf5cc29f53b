"""What `browsertrain train` prints for a run: numbers that may be missing do not crash it."""

from __future__ import annotations

from server.train_report import describe

RUN = {"run_id": "0123456789ab", "epochs": 4, "backend": "wasm", "val_accuracy": 0.9}


def test_a_run_reports_its_median_and_steady_speed():
    text = describe({**RUN, "final_loss": 0.12345, "images_per_second": 480.4, "images_per_second_steady": 510.2})
    assert (
        "final loss 0.1235" in text
        and "480 images/s (median of its epochs; 510 after the first epoch's warm-up)" in text
    )


def test_a_run_that_trained_no_epoch_here_is_described_not_a_crash():
    # e.g. a finished run opened again with --resume: nothing left to train, no loss and no speed in this session
    text = describe({**RUN, "final_loss": None, "images_per_second": None, "images_per_second_steady": None})
    assert "final loss -" in text and "no speed measured" in text
