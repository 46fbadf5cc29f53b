"""What the tests share. Import helpers from here (`from support import new_run`) or from the module that holds
them; the fixtures live in support.fixtures, which tests/conftest.py loads as a plugin."""

from .builders import (
    imagefolder,
    jpeg_bytes,
    labels_csv,
    mpo_bytes,
    multipart_body,
    png_bytes,
    upload,
    write_tree,
    zip_bytes,
)
from .disk import (
    RUN_ID_OUTSIDE,
    RUN_ID_SIBLING,
    WATCHED,
    assert_not_leaked,
    assert_unchanged,
    disk_state,
    files_under,
    plant_outside,
)
from .raw_http import RawResponse, parse_response, raw_request, read_until_closed
from .servers import (
    CLIENT_TIMEOUT_SECONDS,
    IN_PROCESS_PORT,
    ROOT,
    STARTUP_SECONDS,
    InProcessServer,
    LiveServer,
    in_process_isolated,
    log_text,
    start_isolated,
    start_server,
)
from .snapshots import (
    ADAM_WEIGHTS,
    DENSE_WEIGHTS,
    latest_model,
    model_json,
    new_run,
    post_snapshot,
    snapshot_files,
    weights_for,
)
