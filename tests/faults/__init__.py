"""Server fault tests: concurrency, crashes, slow uploads, a full disk, fuzzing."""
