"""TF Java fixtures: these tests never skip; missing Java or jars make them fail loudly."""

import pytest

from lumicare_ij.export import TFJavaError, tfjava_registered_ops


@pytest.fixture(scope="session")
def tfjava_ops():
    """TensorFlow Java 1.15's op registry (op -> attribute names), read in a separate JVM."""
    try:
        return tfjava_registered_ops()
    except TFJavaError as err:
        pytest.fail("TensorFlow Java 1.15 is required for the export tests and could not run: "
                    f"{err}", pytrace=False)
