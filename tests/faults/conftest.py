from tests.faults.backends import backend  # noqa: F401
from tests.fixtures.seaweedfs import seaweedfs  # noqa: F401
