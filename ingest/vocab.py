"""Namespaces of the ontology and of the vocabularies it reuses."""

from __future__ import annotations

from rdflib import Namespace
from rdflib.namespace import DCTERMS, FOAF, OWL, PROV, RDF, RDFS, SKOS, XSD

NK = Namespace("https://notekg.example/ontology#")
KEY = Namespace("https://notekg.example/ontology/key#")
SCHEMA = Namespace("https://schema.org/")

PREFIXES = {
    "nk": NK,
    "key": KEY,
    "schema": SCHEMA,
    "skos": SKOS,
    "dcterms": DCTERMS,
    "foaf": FOAF,
    "prov": PROV,
    "rdf": RDF,
    "rdfs": RDFS,
    "owl": OWL,
    "xsd": XSD,
}

__all__ = [
    "DCTERMS",
    "FOAF",
    "KEY",
    "NK",
    "OWL",
    "PREFIXES",
    "PROV",
    "RDF",
    "RDFS",
    "SCHEMA",
    "SKOS",
    "XSD",
]
