"""The package installs with pip as a service would install it, typed, with nothing but the standard library."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
SOURCES = sorted((PACKAGE / "tokens_client").glob("*.py"))


class Package(unittest.TestCase):
    def test_pip_installs_it_with_its_type_marker_and_the_installed_copy_works(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            # From a copy, so the build leaves nothing in the repository.
            source = Path(tmp) / "source"
            shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("tests", "build", "*.egg-info", "__pycache__"))
            target = Path(tmp) / "site"
            install = subprocess.run(
                [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check", "--target", str(target), str(source)],
                capture_output=True, text=True, timeout=240,
            )
            self.assertEqual(install.returncode, 0, install.stdout + install.stderr)
            self.assertTrue((target / "tokens_client" / "py.typed").is_file())
            self.assertEqual(sorted(p.name for p in (target / "tokens_client").glob("*.py")), [p.name for p in SOURCES])
            # -I: the installed copy alone (nothing from this checkout or the environment); a webhook signed and verified with it.
            probe = (
                "import sys; sys.path.insert(0, sys.argv[1]);"
                "import tokens_client, time; from tokens_client import sign_webhook, verify_webhook;"
                "s = 'whsec_' + 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'; t = int(time.time()); b = b'{\"type\":\"tokens.warning\",\"data\":{}}';"
                "e = verify_webhook(s, b, {'webhook-id': 'msg_1', 'webhook-timestamp': str(t), 'webhook-signature': sign_webhook(s, 'msg_1', t, b)});"
                "print(tokens_client.__file__, tokens_client.__version__, e.type)"
            )
            ran = subprocess.run([sys.executable, "-I", "-c", probe, str(target)], cwd=tmp, capture_output=True, text=True, timeout=60)
            self.assertEqual(ran.returncode, 0, ran.stderr)
            where, version, kind = ran.stdout.split()
            self.assertTrue(where.startswith(str(target)), where)
            self.assertEqual((version, kind), ("0.1.0", "tokens.warning"))

    def test_every_module_is_python_3_9_and_imports_only_the_standard_library(self) -> None:
        stdlib = set(sys.stdlib_module_names)
        for path in SOURCES:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path), feature_version=(3, 9))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                elif isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                else:
                    continue
                for name in names:
                    self.assertIn(name.split(".")[0], stdlib | {"__future__"}, f"{path.name} imports {name}")
            annotated = any(isinstance(n, ast.AnnAssign) or (isinstance(n, ast.FunctionDef) and n.returns is not None) for n in ast.walk(tree))
            future = any(isinstance(n, ast.ImportFrom) and n.module == "__future__" and any(a.name == "annotations" for a in n.names) for n in tree.body)
            # Annotations such as list[Check] or X | None must stay strings on 3.9.
            self.assertTrue(future or not annotated, f"{path.name} has annotations but no `from __future__ import annotations`")


if __name__ == "__main__":
    unittest.main()
