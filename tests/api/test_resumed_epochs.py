"""A resumed run trains again from its last snapshot and posts those epochs anew: the run then lists each epoch once,
with the later record."""

from __future__ import annotations

from support import new_run


def test_an_epoch_posted_again_after_a_resume_replaces_the_earlier_record(mclient):
    run_id = new_run(mclient)
    # Epochs 0-3 ran, the last snapshot was after epoch 1, the tab died; the resumed page trains 2 and 3 again.
    for epoch, loss in [(0, 1.0), (1, 0.8), (2, 0.7), (3, 0.65), (2, 0.69), (3, 0.6), (4, 0.55)]:
        assert mclient.post(f"/api/runs/{run_id}/epochs", json={"epoch": epoch, "train_loss": loss}).status_code == 201
    run = mclient.get(f"/api/runs/{run_id}").json()
    assert [(e["epoch"], e["train_loss"]) for e in run["epochs"]] == [
        (0, 1.0),
        (1, 0.8),
        (2, 0.69),
        (3, 0.6),
        (4, 0.55),
    ]
    assert run["epochs_done"] == 5
