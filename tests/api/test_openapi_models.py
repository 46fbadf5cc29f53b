"""/docs (from /openapi.json) shows what the runs and datasets routes answer, field by field, and the answers hold to
it."""

from __future__ import annotations

from support import new_run


def schema_of(spec: dict, path: str, method: str, status: str = "200") -> dict:
    ref = spec["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]["$ref"]
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_the_api_description_names_the_fields_of_runs_and_datasets(mclient):
    spec = mclient.get("/openapi.json").json()
    run = schema_of(spec, "/api/runs/{run_id}", "get")
    assert {"id", "dataset", "status", "epochs_done", "parent_run_id", "epochs", "snapshots", "child_run_ids"} <= set(
        run["properties"]
    )
    assert set(run["properties"]["status"]["enum"]) == {"created", "running", "finished", "stopped", "failed"}
    assert "runs" in schema_of(spec, "/api/runs", "get")["properties"]
    assert "datasets" in schema_of(spec, "/api/datasets", "get")["properties"]
    assert {"name", "hash", "classes", "num_items"} <= set(
        schema_of(spec, "/api/datasets", "post", "201")["properties"]
    )


def test_a_new_run_answers_every_field_its_description_lists(mclient):
    spec = mclient.get("/openapi.json").json()
    run_id = new_run(mclient)
    answer = mclient.get(f"/api/runs/{run_id}").json()
    assert set(answer) == set(schema_of(spec, "/api/runs/{run_id}", "get")["properties"])
    assert answer["status"] == "created" and answer["epochs"] == [] and answer["snapshots"] == []
