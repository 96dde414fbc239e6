"""c360 — open-source Customer 360: connect customer data, resolve identities, one view."""

from c360.config import JobConfig, load_config
from c360.errors import C360Error
from c360.pipeline import JobResult, JobSpec, run_job

__all__ = ["C360Error", "JobConfig", "JobResult", "JobSpec", "load_config", "run_job"]
__version__ = "0.1.0"
