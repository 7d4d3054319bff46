import pytest


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    # Uploaded import files and error reports go to a per-test folder, not the project's media.
    settings.MEDIA_ROOT = str(tmp_path / "media")
