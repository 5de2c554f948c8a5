"""Paths of the notekg vocabulary files and the vocabulary's namespace."""

from pathlib import Path

ONTOLOGY_DIR = Path(__file__).resolve().parent
ONTOLOGY_FILE = ONTOLOGY_DIR / "notekg.ttl"
SHAPES_FILE = ONTOLOGY_DIR / "shapes.ttl"
CONTEXT_FILE = ONTOLOGY_DIR / "context.jsonld"

NAMESPACE = "https://notekg.example/ontology#"
