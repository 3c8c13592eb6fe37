"""The portal's vendored Chart.js (`make vendor-js`): the file kept in the tree is the version
package.json pins (exactly, not a range), package-lock.json locks the same one, its licence is
beside it, and node_modules/ stays out of the repository."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
VENDOR = ROOT / "adapters" / "static" / "vendor"


def pinned() -> str:
    package = json.loads((ROOT / "package.json").read_text())
    assert package["private"] is True
    version = {**package.get("dependencies", {}), **package.get("devDependencies", {})}["chart.js"]
    assert re.fullmatch(r"4\.\d+\.\d+", version), f"chart.js must be pinned to one 4.x: {version}"
    return version


def test_the_vendored_file_is_the_pinned_version():
    banner = (VENDOR / "chart.umd.min.js").read_text()[:300]
    found = re.search(r"Chart\.js v(\d+\.\d+\.\d+)", banner)
    assert found, "no version banner in the vendored chart.umd.min.js"
    assert found.group(1) == pinned()


def test_the_lock_file_locks_the_same_version():
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/chart.js"]["version"] == pinned()
    assert lock["packages"][""]["devDependencies"]["chart.js"] == pinned()


def test_the_licence_is_beside_it_and_node_modules_is_ignored():
    licence = (VENDOR / "chart.js-LICENSE.md").read_text()
    assert "MIT License" in licence and "Chart.js Contributors" in licence
    assert "node_modules/" in (ROOT / ".gitignore").read_text().split()
    makefile = (ROOT / "Makefile").read_text()
    assert "vendor-js:" in makefile and "npm ci" in makefile
