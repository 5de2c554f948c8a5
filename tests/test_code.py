"""Tests of python_api_names in ingest/code.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.code import python_api_names
from ingest.readers.text import read_text

AI_NOTE = Path(__file__).resolve().parent.parent / "data" / "notes" / "ai.txt"


@pytest.fixture(scope="module")
def scikit_names() -> list[str]:
    document = read_text(AI_NOTE, "data/notes/ai.txt")
    section = next(section for section in document.sections if section.title == "Scikit-Learn")
    return python_api_names(section.code_blocks[0].code)


def test_scikit_block_api_names(scikit_names: list[str]) -> None:
    assert scikit_names == [
        "OneHotEncoder",
        "SimpleImputer",
        "StandardScaler",
        "np.number",
        "sklearn.compose.ColumnTransformer",
        "sklearn.compose.make_column_selector",
        "sklearn.compose.make_column_transformer",
        "sklearn.pipeline.make_pipeline",
    ]


def test_scikit_block_excludes_builtins(scikit_names: list[str]) -> None:
    assert "object" not in scikit_names


def test_scikit_block_excludes_assigned(scikit_names: list[str]) -> None:
    for name in ("num_pipeline", "cat_pipeline", "preprocessing", "num_attribs", "cat_attribs"):
        assert name not in scikit_names, name


def test_scikit_block_excludes_attribute_base(scikit_names: list[str]) -> None:
    assert "np" not in scikit_names


def test_import_alias_qualifies_attribute() -> None:
    assert python_api_names("import numpy as np\nvalues = np.array([1, 2])\n") == ["numpy.array"]


def test_dotted_import_qualifies_attribute() -> None:
    code = "import os.path\nimport xml.etree.ElementTree as ET\nos.path.join('a')\nET.parse('b')\n"
    assert python_api_names(code) == ["os.path.join", "xml.etree.ElementTree.parse"]


def test_from_import_alias_qualified() -> None:
    code = "from sklearn.pipeline import make_pipeline as mp\npipeline = mp()\n"
    assert python_api_names(code) == ["sklearn.pipeline.make_pipeline"]


def test_attribute_of_call_result() -> None:
    code = "import numpy as np\nshape = np.zeros(3).shape\n"
    assert python_api_names(code) == ["numpy.zeros"]


def test_defined_names_excluded() -> None:
    code = (
        "def scale(values, factor=2):\n"
        "    return [value * factor for value in values]\n"
        "class Model:\n"
        "    pass\n"
        "result = scale(Model(), factor=3)\n"
        "result.fit()\n"
    )
    assert python_api_names(code) == []


def test_builtins_excluded() -> None:
    assert python_api_names("total = sum(len(x) for x in range(3))\nprint(total)\n") == []


@pytest.mark.parametrize(
    "code",
    [
        "def broken(:\n",
        "preprocessing = make_column_transformer(\n",
        "x" + ".a" * 200_000,
        "-" * 1_000_000 + "1",
        "a\x00b",
    ],
)
def test_unparsable_code_gives_empty(code: str) -> None:
    assert python_api_names(code) == []


def test_undefined_lowercase_names_are_not_apis() -> None:
    assert python_api_names("loss = model(batch)\nloss.backward()") == []


def test_called_capitalised_name_is_an_api() -> None:
    assert python_api_names("scaler = StandardScaler()\nscaler.fit(data)") == ["StandardScaler"]
