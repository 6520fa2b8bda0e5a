"""RQ jobs (notification delivery, content checks, the sweep) and the worker entry point. May import everything."""
