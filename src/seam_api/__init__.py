"""SEAM API: a real-time auth-and-permissions back end for admin front ends."""
