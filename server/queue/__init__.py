"""The job queue: runs waiting for browser workers, claimed under a lease, re-issued when it expires (docs/queue.md)."""
