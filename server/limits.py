"""Every cap the server enforces, in one place, so each is named, documented and testable."""

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

# Names (datasets) become folder names: short, plain characters only.
MAX_NAME_LENGTH = 64

# Request bodies. Enforced while the body streams in, with or without Content-Length.
MAX_UPLOAD_BYTES = 512 * MIB  # POST /api/datasets (a zip)
MAX_SNAPSHOT_BYTES = 64 * MIB  # POST /api/runs/{id}/snapshots (model.json + weights)
MAX_JSON_BODY_BYTES = 1 * MIB  # every other request with a body
MAX_MULTIPART_FIELDS = 8  # form fields per multipart request
MAX_MULTIPART_FILES = 2  # file parts per multipart request (tfjs sends model.json + weights)
# One header line of a multipart part. python-multipart enforces this (its default; Starlette offers no setting),
# together with at most 8 header lines per part; tests pin both sides of it.
MAX_MULTIPART_PART_HEADER_BYTES = 4 * KIB + 128
MAX_MULTIPART_PART_HEADERS = 8

# Zip archives, checked member by member before anything is extracted.
MAX_ZIP_MEMBERS = 20_000
MAX_ZIP_UNCOMPRESSED_BYTES = 2 * GIB
MAX_ZIP_MEMBER_RATIO = 200  # uncompressed / compressed, per member (zip bombs reach 1000+)

# Images, checked from the header before any pixel is decoded.
MAX_IMAGE_PIXELS = 16_000_000  # width * height of one frame (a 4000 x 4000 photo)
MAX_IMAGE_TOTAL_PIXELS = 64_000_000  # summed over all frames of an animated image
MAX_IMAGE_FRAMES = 500
# An image file may hold at most this many bytes per pixel (all frames) plus MAX_IMAGE_METADATA_BYTES: an
# uncompressed 16-bit RGBA PNG needs about 9, a noisy JPEG at quality 100 about 4. Past it the file is mostly not
# image: a 73-byte PNG followed by 314 MB of zeros, which decoders ignore as trailing data, was stored whole.
MAX_IMAGE_BYTES_PER_PIXEL = 16
MAX_IMAGE_METADATA_BYTES = 4 * MIB  # EXIF, ICC profiles, XMP, an MPO's preview pictures
MAX_DATASET_ITEMS = 100_000
# A classifier needs at least two classes to tell apart: a one-class set would import and then fail to train.
MIN_CLASSES = 2
MAX_LABELS_CSV_BYTES = 64 * MIB  # a labels.csv: 100,000 lines of a path and a label, with room to spare

# Detection and landmark annotations (server/datasets/annotations/).
MAX_ANNOTATION_FILE_BYTES = 64 * MIB  # one COCO or CreateML JSON, VOC XML, YOLO txt or data.yaml, landmarks CSV
MAX_ANNOTATION_FILES = MAX_DATASET_ITEMS  # VOC XML or YOLO txt files: one per image
MAX_CATEGORIES = 1_000  # classes of a detection set (COCO has 80, Open Images 600)
MAX_BOXES_PER_IMAGE = 500  # COCO's most crowded image holds under 100
MAX_DATASET_BOXES = 500_000  # across the set: each is a line of the manifest, which every page loads
MAX_POINTS_PER_IMAGE = 256  # named points of a landmarks set (a 68-point face, a 133-point whole body)
MAX_NAME_CHARS = 128  # a class or point name
# Boxes and points may reach this far past the image's edge (a rounding slip of the annotation tool); they are
# clipped to the image. Anything further out is refused.
ANNOTATION_SLACK_PIXELS = 1.0

# Bulk reads: items per pack response.
MAX_BULK_ITEMS = 5_000

# Login sessions (off loopback): how long the cookie that the login URL sets stays valid.
SESSION_LIFETIME_SECONDS = 30 * 24 * 3600

# Runs.
MAX_EPOCH_RECORD_BYTES = 16 * KIB  # one line of a run's epoch log
MAX_EPOCH = 1_000_000  # an epoch number (the run's epoch count is a 64-bit database integer)
MAX_STEP = MAX_DATASET_ITEMS  # a step within an epoch: at most one per item (batches of one over the largest set)
MAX_WEIGHT_ELEMENTS = 64 * MIB // 4  # elements across all weights of one snapshot
MAX_RUN_CONFIG_BYTES = 64 * KIB

# JSON from clients (request bodies, a snapshot's model.json) nests at most this deep. tfjs model.json files nest
# about 8 deep; Python's json, pydantic and the JSON encoder fail with a RecursionError (a 500) somewhere near 1,000.
MAX_JSON_DEPTH = 64

# A snapshot's topology (runs/topology.py): layers across all nested models (MobileNet V2 has 155), models inside
# the model, and any one size in a layer's config (units, filters, a kernel or input dimension).
MAX_MODEL_LAYERS = 2_000
MAX_MODEL_NESTING = 4
MAX_LAYER_DIMENSION = 65_536

# Exports: the quality gate decodes at most this many bytes of validation pixels (an evenly spaced subset past it).
MAX_GATE_PIXEL_BYTES = 128 * MIB

# The job queue (docs/queue.md). A claim holds its job for LEASE_SECONDS; the worker heartbeats every
# HEARTBEAT_SECONDS, which extends it, so a closed lid or a killed browser frees the job within LEASE_SECONDS plus
# one REAPER_SECONDS round. A job is claimed at most max_attempts times (DEFAULT_MAX_ATTEMPTS unless enqueued with
# another, up to MAX_ATTEMPTS) before it fails for good.
LEASE_SECONDS = 30.0
HEARTBEAT_SECONDS = 5.0
REAPER_SECONDS = 5.0
DEFAULT_MAX_ATTEMPTS = 3
MAX_ATTEMPTS = 20
MAX_WORKER_NAME_CHARS = 128
MAX_QUEUE_LIST = 1_000  # jobs or workers in one listing
MAX_SWEEP_TRIALS = 200
MAX_SWEEP_PARALLEL = 32
MAX_JOB_PRIORITY = 1_000_000  # priorities run from minus this to this; higher is claimed first
MAX_JOB_ERROR_CHARS = 2_000  # a job's last_error (a worker's report is cut to this)
MAX_WORKER_DEVICE_BYTES = 8 * KIB  # a worker's device report, as JSON
MAX_JOB_REQUIREMENTS_BYTES = 1 * KIB  # a job's requirements, as JSON

# Artifacts in an S3-compatible store (server/artifact_store.py): how long one request may take to connect and to
# answer, and how many times boto retries it before the server answers 503.
S3_CONNECT_TIMEOUT_SECONDS = 5
S3_READ_TIMEOUT_SECONDS = 60
S3_MAX_ATTEMPTS = 3
# A server sharing an S3 store asks it again for a dataset's manifest (a conditional GET) at most this often, so a
# dataset replaced or deleted through another server is seen within this many seconds.
S3_REVALIDATE_SECONDS = 2.0
# At start, a server removes what uploads left at the store's temporary keys (.incoming/) this long ago: uploads of
# servers killed mid-way (no live upload takes this long).
S3_ABANDONED_UPLOAD_SECONDS = 3600
# How many files of a folder (a dataset's items) go to or come from an S3 store at once.
S3_PARALLEL_TRANSFERS = 8
