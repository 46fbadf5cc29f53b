"""Artifacts made from snapshots: tfjs files, the numpy quantizer, TensorFlow conversions (subprocess), the gate."""
