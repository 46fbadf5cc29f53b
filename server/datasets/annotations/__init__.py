"""Readers for detection and landmark annotation formats (COCO, Pascal VOC, YOLO, CreateML, a landmarks CSV)."""
