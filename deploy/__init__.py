"""Deployment files (nginx); a package so that tests and benchmarks import the renderer."""
