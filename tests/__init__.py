"""The test suite. Imported before any test module or conftest, so what it sets holds for the
whole run: cheap Argon2id hashing (security/credentials.py, refused outside pytest) for the run
and the servers it starts, set before seam_api is imported since the hasher is made then."""

import os

os.environ.setdefault("SEAM_TEST_CHEAP_HASHING", "1")
