"""The package's build backend (PEP 517, with PEP 660 editable installs), standard library only.

Why not setuptools: a fresh venv cannot build with it offline. Python 3.11's venv has setuptools 65 but
not ``wheel``, which setuptools before 70.1 needs to build any wheel (``invalid command 'bdist_wheel'``),
and Python 3.12+ venvs have no setuptools at all; with build isolation pip would download them. This
backend needs nothing (``requires = []``), so ``pip install ./clients/python`` works offline, with or
without build isolation, on every Python the client supports.

What it builds: a pure-Python ``py3-none-any`` wheel of ``game_persist/`` (its ``.py`` files and
``py.typed``) and an sdist of the project folder, with Core Metadata 2.1 from pyproject.toml's
``[project]`` table. The version is read from ``game_persist/__init__.py`` (``__version__``), its one
place. A ``[project]`` key it does not implement is an error rather than silently dropped, and
``dependencies`` must stay empty: the client is standard-library only. Archives are reproducible
(sorted entries, fixed timestamps: ``SOURCE_DATE_EPOCH`` or 1980-01-01).
"""

import base64
import gzip
import hashlib
import io
import json
import os
import re
import tarfile
import time
import zipfile
from typing import Any, Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "game_persist"
LICENSE_FILES = ["LICENSE"]
# What the sdist holds besides PKG-INFO: everything needed to build the wheel again, and the tests.
SDIST_TREES = [PACKAGE, "tests", "tools"]
SDIST_FILES = ["pyproject.toml", "README.md"] + LICENSE_FILES
_KNOWN_KEYS = {"name", "dynamic", "description", "readme", "requires-python", "license", "keywords", "classifiers", "dependencies"}


class BuildError(Exception):
    pass


# ---- PEP 517 / PEP 660 hooks ---------------------------------------------------------------------


def get_requires_for_build_wheel(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def get_requires_for_build_sdist(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def get_requires_for_build_editable(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: Optional[Dict[str, Any]] = None) -> str:
    meta = Metadata.load()
    path = os.path.join(metadata_directory, meta.dist_info)
    os.makedirs(path, exist_ok=True)
    for name, data in meta.dist_info_files():
        with open(os.path.join(path, name), "wb") as f:
            f.write(data)
    return meta.dist_info


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory: str, config_settings: Optional[Dict[str, Any]] = None, metadata_directory: Optional[str] = None) -> str:
    meta = Metadata.load()
    files = [(rel, _read(rel)) for rel in _tree_files(PACKAGE)]
    return _write_wheel(wheel_directory, meta, files)


def build_editable(wheel_directory: str, config_settings: Optional[Dict[str, Any]] = None, metadata_directory: Optional[str] = None) -> str:
    """A wheel whose only content is a .pth file putting this folder on sys.path: edits apply at once."""
    meta = Metadata.load()
    return _write_wheel(wheel_directory, meta, [(f"__editable__.{meta.dist_name}-{meta.version}.pth", (ROOT + "\n").encode("utf-8"))])


def build_sdist(sdist_directory: str, config_settings: Optional[Dict[str, Any]] = None) -> str:
    meta = Metadata.load()
    base = f"{meta.dist_name}-{meta.version}"
    files = [(rel, _read(rel)) for tree in SDIST_TREES for rel in _tree_files(tree)]
    files += [(rel, _read(rel)) for rel in SDIST_FILES]
    files.append(("PKG-INFO", meta.core_metadata()))
    name = base + ".tar.gz"
    raw = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=_epoch()) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for rel, data in sorted(files):
                info = tarfile.TarInfo(f"{base}/{rel}")
                info.size, info.mtime, info.mode = len(data), _epoch(), 0o644
                tar.addfile(info, io.BytesIO(data))
    with open(os.path.join(sdist_directory, name), "wb") as f:
        f.write(raw.getvalue())
    return name


# ---- metadata ------------------------------------------------------------------------------------


class Metadata:
    """pyproject.toml's ``[project]`` table, checked, and the version from the package."""

    def __init__(self, project: Dict[str, Any], version: str, readme: str) -> None:
        unknown = sorted(set(project) - _KNOWN_KEYS)
        if unknown:
            raise BuildError(f"pyproject.toml [project] keys this backend does not implement: {', '.join(unknown)}")
        if project.get("dependencies"):
            raise BuildError("the client is standard-library only: [project] dependencies must stay empty")
        if project.get("dynamic") != ["version"]:
            raise BuildError('pyproject.toml [project] must say dynamic = ["version"]: the version is game_persist.__version__')
        self.project = project
        self.name: str = project["name"]
        self.dist_name = re.sub(r"[-_.]+", "_", self.name).lower()
        self.version = version
        self.readme = readme
        self.dist_info = f"{self.dist_name}-{version}.dist-info"

    @staticmethod
    def load() -> "Metadata":
        with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
            text = f.read().decode("utf-8")
        project = parse_toml(text).get("project")
        if not isinstance(project, dict):
            raise BuildError("pyproject.toml has no [project] table")
        init = _read(f"{PACKAGE}/__init__.py").decode("utf-8")
        m = re.search(r'^__version__ = "([^"]+)"$', init, re.M)
        if not m:
            raise BuildError(f'{PACKAGE}/__init__.py has no line __version__ = "..."')
        readme = _read(project["readme"]).decode("utf-8") if "readme" in project else ""
        return Metadata(project, m.group(1), readme)

    def core_metadata(self) -> bytes:
        p = self.project
        lines = ["Metadata-Version: 2.1", f"Name: {self.name}", f"Version: {self.version}"]
        if "description" in p:
            lines.append(f"Summary: {p['description']}")
        if p.get("keywords"):
            lines.append("Keywords: " + ",".join(p["keywords"]))
        lic = p.get("license")
        if isinstance(lic, dict) and "text" in lic:
            lines.append(f"License: {lic['text']}")
        if "requires-python" in p:
            lines.append(f"Requires-Python: {p['requires-python']}")
        lines += [f"Classifier: {c}" for c in p.get("classifiers", [])]
        if self.readme:
            lines.append("Description-Content-Type: text/markdown; charset=UTF-8")
        return ("\n".join(lines) + "\n\n" + self.readme).encode("utf-8")

    def dist_info_files(self) -> List[Tuple[str, bytes]]:
        wheel = "Wheel-Version: 1.0\nGenerator: game-persist tools/build_backend.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        out = [("METADATA", self.core_metadata()), ("WHEEL", wheel.encode("utf-8"))]
        return out + [(rel, _read(rel)) for rel in LICENSE_FILES]


# ---- archives ------------------------------------------------------------------------------------


def _write_wheel(wheel_directory: str, meta: Metadata, files: List[Tuple[str, bytes]]) -> str:
    name = f"{meta.dist_name}-{meta.version}-py3-none-any.whl"
    entries = sorted(files) + [(f"{meta.dist_info}/{n}", d) for n, d in meta.dist_info_files()]
    record = [f"{rel},sha256={_b64_sha256(data)},{len(data)}" for rel, data in entries]
    record.append(f"{meta.dist_info}/RECORD,,")
    entries.append((f"{meta.dist_info}/RECORD", ("\n".join(record) + "\n").encode("utf-8")))
    stamp = time.gmtime(max(_epoch(), 315532800))[:6]  # zip cannot hold dates before 1980
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as z:
        for rel, data in entries:
            info = zipfile.ZipInfo(rel, date_time=stamp)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return name


def _tree_files(tree: str) -> List[str]:
    """The files of a folder worth shipping, relative to ROOT, sorted: sources and ``py.typed``."""
    out = []
    for d, dirs, names in os.walk(os.path.join(ROOT, tree)):
        dirs[:] = sorted(x for x in dirs if x != "__pycache__" and not x.startswith("."))
        for n in names:
            if n.endswith(".py") or n == "py.typed":
                out.append(os.path.relpath(os.path.join(d, n), ROOT).replace(os.sep, "/"))
    return sorted(out)


def _read(rel: str) -> bytes:
    with open(os.path.join(ROOT, rel), "rb") as f:
        return f.read()


def _epoch() -> int:
    return int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))


def _b64_sha256(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")


# ---- pyproject.toml ------------------------------------------------------------------------------


def parse_toml(text: str) -> Dict[str, Any]:
    """pyproject.toml as a dict: ``tomllib`` where there is one (Python 3.11+), else the small subset
    of TOML this pyproject.toml uses (tables, strings, booleans, integers, arrays, inline tables)."""
    try:
        import tomllib
    except ImportError:
        return _MiniToml(text).parse()
    return tomllib.loads(text)


class _MiniToml:
    def __init__(self, text: str) -> None:
        self.s, self.i = text, 0

    def parse(self) -> Dict[str, Any]:
        root: Dict[str, Any] = {}
        table = root
        while True:
            self._skip(newlines=True)
            if self.i >= len(self.s):
                return root
            if self.s[self.i] == "[":
                end = self.s.index("]", self.i)
                table = root
                for part in self.s[self.i + 1 : end].strip().split("."):
                    table = table.setdefault(part.strip(), {})
                self.i = end + 1
            else:
                key = self._key()
                self._skip()
                self._expect("=")
                table[key] = self._value()
            self._skip()
            if self.i < len(self.s) and self.s[self.i] != "\n":
                raise BuildError(f"pyproject.toml: unexpected {self.s[self.i:self.i + 20]!r}")

    def _skip(self, newlines: bool = False) -> None:
        while self.i < len(self.s):
            c = self.s[self.i]
            if c == "#":
                while self.i < len(self.s) and self.s[self.i] != "\n":
                    self.i += 1
            elif c in " \t\r" or (newlines and c == "\n"):
                self.i += 1
            else:
                return

    def _expect(self, c: str) -> None:
        if self.s[self.i : self.i + 1] != c:
            raise BuildError(f"pyproject.toml: expected {c!r} at {self.s[self.i:self.i + 20]!r}")
        self.i += 1

    def _key(self) -> str:
        if self.s[self.i] in "\"'":
            return str(self._value())
        m = re.compile(r"[A-Za-z0-9_-]+").match(self.s, self.i)
        if not m:
            raise BuildError(f"pyproject.toml: expected a key at {self.s[self.i:self.i + 20]!r}")
        self.i = m.end()
        return m.group(0)

    def _value(self) -> Any:
        self._skip()
        c = self.s[self.i]
        if c == '"':
            m = re.compile(r'"(?:[^"\\\n]|\\.)*"').match(self.s, self.i)
            if not m or self.s.startswith('"""', self.i):
                raise BuildError("pyproject.toml: only one-line basic strings are supported")
            self.i = m.end()
            return json.loads(m.group(0))
        if c == "'":
            end = self.s.index("'", self.i + 1)
            v, self.i = self.s[self.i + 1 : end], end + 1
            return v
        if c in "[{":
            close, out_list, out_table = ("]" if c == "[" else "}"), [], {}
            self.i += 1
            while True:
                self._skip(newlines=True)
                if self.s[self.i] == close:
                    self.i += 1
                    return out_list if c == "[" else out_table
                if c == "[":
                    out_list.append(self._value())
                else:
                    k = self._key()
                    self._skip()
                    self._expect("=")
                    out_table[k] = self._value()
                self._skip(newlines=True)
                if self.s[self.i] == ",":
                    self.i += 1
        m = re.compile(r"true|false|-?[0-9]+").match(self.s, self.i)
        if not m:
            raise BuildError(f"pyproject.toml: unsupported value at {self.s[self.i:self.i + 20]!r}")
        self.i = m.end()
        word = m.group(0)
        return word == "true" if word in ("true", "false") else int(word)
