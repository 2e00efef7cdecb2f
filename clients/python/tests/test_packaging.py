"""The package: what the build backend (tools/build_backend.py) puts in the wheel and the sdist, and,
when the suite runs from an installed copy (GP_TEST_INSTALLED=1, as test/integration/api/
python-client.test.ts runs it in a fresh venv), that the installed package is the one under test."""

import base64
import csv
import hashlib
import importlib.metadata
import importlib.util
import io
import os
import sys
import sysconfig
import tarfile
import tempfile
import unittest
import zipfile
from types import ModuleType

import game_persist

SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INSTALLED = os.environ.get("GP_TEST_INSTALLED") == "1"
MODULES = ["__init__.py", "_errors.py", "_publisher.py", "_transport.py", "_wire.py", "client.py"]


def load_backend(root: str, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, os.path.join(root, "tools", "build_backend.py"))
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class BuildTest(unittest.TestCase):
    def setUp(self) -> None:
        self.backend = load_backend(SOURCE, "gp_build_backend")
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def wheel(self, backend: ModuleType) -> zipfile.ZipFile:
        out = os.path.join(self.tmp.name, backend.__name__)
        os.makedirs(out)
        z = zipfile.ZipFile(os.path.join(out, backend.build_wheel(out)))
        self.addCleanup(z.close)
        return z

    def test_the_wheel_holds_the_package_its_types_license_and_a_true_record(self):
        self.assertEqual(self.backend.get_requires_for_build_wheel(), [])
        z = self.wheel(self.backend)
        v = game_persist.__version__
        info = f"game_persist-{v}.dist-info"
        self.assertEqual(os.path.basename(z.filename), f"game_persist-{v}-py3-none-any.whl")
        expected = [f"game_persist/{m}" for m in MODULES] + ["game_persist/py.typed"] + [f"{info}/{n}" for n in ("LICENSE", "METADATA", "RECORD", "WHEEL")]
        self.assertEqual(sorted(z.namelist()), sorted(expected))
        meta = z.read(f"{info}/METADATA").decode()
        for line in (f"Name: game-persist", f"Version: {v}", "Requires-Python: >=3.9", "License: MIT", "Classifier: Typing :: Typed"):
            self.assertIn(line + "\n", meta)
        self.assertNotIn("Requires-Dist", meta)  # standard library only
        self.assertIn("# game_persist", meta)  # the README is the long description
        self.assertIn("Tag: py3-none-any", z.read(f"{info}/WHEEL").decode())
        rows = list(csv.reader(io.StringIO(z.read(f"{info}/RECORD").decode())))
        self.assertEqual(sorted(r[0] for r in rows), sorted(z.namelist()))
        for path, digest, size in rows:
            if path.endswith("RECORD"):
                continue
            data = z.read(path)
            self.assertEqual((digest, int(size)), ("sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode(), len(data)), path)

    def test_the_sdist_builds_the_same_wheel_again(self):
        out = os.path.join(self.tmp.name, "sdist")
        os.makedirs(out)
        name = self.backend.build_sdist(out)
        base = f"game_persist-{game_persist.__version__}"
        self.assertEqual(name, base + ".tar.gz")
        with tarfile.open(os.path.join(out, name)) as tar:
            names = tar.getnames()
            for must in ("PKG-INFO", "pyproject.toml", "README.md", "LICENSE", "tools/build_backend.py", "game_persist/py.typed", "tests/test_client.py"):
                self.assertIn(f"{base}/{must}", names)
            self.assertFalse([n for n in names if "__pycache__" in n or n.endswith(".pyc")])
            tar.extractall(out, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        again = self.wheel(load_backend(os.path.join(out, base), "gp_build_backend_sdist"))
        first = self.wheel(self.backend)
        self.assertEqual([(i.filename, first.read(i)) for i in first.infolist()], [(i.filename, again.read(i)) for i in again.infolist()])

    def test_an_editable_install_points_at_the_source(self):
        out = os.path.join(self.tmp.name, "editable")
        os.makedirs(out)
        with zipfile.ZipFile(os.path.join(out, self.backend.build_editable(out))) as z:
            [pth] = [n for n in z.namelist() if n.endswith(".pth")]
            self.assertEqual(z.read(pth).decode().strip(), SOURCE)

    def test_the_backend_refuses_dependencies_and_keys_it_does_not_implement(self):
        base = {"name": "game-persist", "dynamic": ["version"]}
        with self.assertRaisesRegex(self.backend.BuildError, "standard-library only"):
            self.backend.Metadata(dict(base, dependencies=["requests"]), "1", "")
        with self.assertRaisesRegex(self.backend.BuildError, "entry-points"):
            self.backend.Metadata(dict(base, **{"entry-points": {}}), "1", "")

    @unittest.skipIf(sys.version_info < (3, 11), "tomllib is Python 3.11+")
    def test_the_small_toml_reader_reads_pyproject_as_tomllib_does(self):
        import tomllib

        with open(os.path.join(SOURCE, "pyproject.toml"), encoding="utf-8") as f:
            text = f.read()
        self.assertEqual(self.backend._MiniToml(text).parse(), tomllib.loads(text))


@unittest.skipUnless(INSTALLED, "GP_TEST_INSTALLED not set: the suite runs from the source tree")
class InstalledTest(unittest.TestCase):
    def test_the_package_under_test_is_the_installed_one(self):
        self.assertNotEqual(sys.prefix, sys.base_prefix, "not in a venv")
        where = os.path.dirname(os.path.abspath(game_persist.__file__))
        self.assertEqual(where, os.path.join(sysconfig.get_paths()["purelib"], "game_persist"))
        self.assertFalse(any(os.path.abspath(p or os.getcwd()) == SOURCE for p in sys.path), sys.path)
        self.assertTrue(os.path.isfile(os.path.join(where, "py.typed")))
        dist = importlib.metadata.distribution("game-persist")
        self.assertEqual(dist.version, game_persist.__version__)
        self.assertEqual((dist.metadata["Requires-Python"], dist.metadata["License"]), (">=3.9", "MIT"))
        self.assertEqual(dist.requires, None)
        self.assertEqual(sorted(os.path.basename(str(f)) for f in dist.files or [] if str(f).startswith("game_persist/") and str(f).endswith(".py")), sorted(MODULES))


if __name__ == "__main__":
    unittest.main()
