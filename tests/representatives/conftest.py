from tests.intake.conftest import job_runtime  # noqa: F401 - jobs run in-process, as in the intake tests
