"""Benchmarks: browser training throughput beside PyTorch, dataset sync, input cost, tensor count, server load."""
