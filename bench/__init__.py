"""`make bench`: throughput, latency and memory of a real `seam-api serve` (see README.md)."""
