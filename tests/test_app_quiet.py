"""The app as a newcomer starts it (issue 12): `make run` quiet and offline (.streamlit/config.toml),
no half-built page in the navigation."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".streamlit" / "config.toml"


def test_streamlit_config_is_quiet_and_local() -> None:
    options = tomllib.loads(CONFIG.read_text())
    # Every option is one the pinned Streamlit knows (a typo would be ignored with a warning only).
    known = set(st_config.get_config_options())
    for section, values in options.items():
        for name in values:
            assert f"{section}.{name}" in known, f"{section}.{name} is not a Streamlit option"
    assert options["server"]["fileWatcherType"] == "none"  # no walking .venv/ and data/
    assert {".venv", "data"} <= set(options["server"]["folderWatchBlacklist"])
    assert options["server"]["address"] == "localhost"  # and no external-IP lookup at start
    assert options["browser"]["gatherUsageStats"] is False
    assert options["client"]["toolbarMode"] == "viewer"  # no "Deploy" button for a meetup audience


def test_favicon_is_drawn_locally() -> None:
    # A ":material/…:" page icon makes the browser fetch an SVG from fonts.gstatic.com.
    call = re.search(r"st\.set_page_config\((.*?)\)\n", (ROOT / "app.py").read_text(), re.S)
    assert call and ":material/" not in call.group(1)


def test_navigation_lists_only_built_pages(app_env) -> None:
    at = AppTest.from_file("../app.py", default_timeout=60).run()
    assert not at.exception
    pages = at._registered_pages  # what st.navigation registered (AppTest has no public view of it)
    paths = sorted(Path(p["script_path"]).name for p in pages.values())
    assert paths == ["audit.py", "chat.py", "compare.py", "costs.py", "evals.py", "prompts.py"]
    assert not any("audit issue" in (m.value or "").lower() for m in at.info)
