"""Real Chromium against a real server: pages, training, resume."""
