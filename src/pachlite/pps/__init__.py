"""PPS: pipelines over PFS — specs, globs, datums, the datum plan, jobs and their executors."""
