"""The ontology, vocabularies and alignment are well-formed, documented and consistent."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, SKOS
from shacl_helpers import CG, ONTOLOGY_DIR, SH, load_shapes

ONTOLOGY_IRI = URIRef("https://claimgraph.org/ontology")
ALIGNMENT_IRI = URIRef("https://claimgraph.org/ontology/alignment")
VANN = "http://purl.org/vocab/vann/"
OWN_NAMESPACES = ("https://claimgraph.org/",)
ALIGNMENT_AXIOMS = {
    RDFS.subClassOf,
    RDFS.subPropertyOf,
    SKOS.closeMatch,
    SKOS.exactMatch,
    OWL.equivalentClass,
}

# Properties that cannot have a property shape, with the reason. Empty: every property has
# one. Add an entry only with a comment saying why no shape can check the property.
PATH_EXEMPTIONS: dict[URIRef, str] = {}

# Properties without rdfs:range, with the reason.
RANGE_EXEMPTIONS = {CG.about: "any resource an IRI can name"}


def parse(name: str) -> Graph:
    return Graph().parse(ONTOLOGY_DIR / name, format="turtle")


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return parse("claimgraph.ttl")


@pytest.fixture(scope="module")
def vocab() -> Graph:
    return parse("vocab.ttl")


@pytest.fixture(scope="module")
def alignment() -> Graph:
    return parse("alignment.ttl")


def own_terms(graph: Graph, *types: URIRef) -> list[URIRef]:
    terms = {
        term
        for kind in types
        for term in graph.subjects(RDF.type, kind)
        if isinstance(term, URIRef) and str(term).startswith(str(CG))
    }
    return sorted(terms)


def is_own(term: object) -> bool:
    return isinstance(term, URIRef) and str(term).startswith(OWN_NAMESPACES)


def english(graph: Graph, subject: URIRef, predicate: URIRef) -> list[Literal]:
    return [
        value
        for value in graph.objects(subject, predicate)
        if isinstance(value, Literal) and value.language == "en" and str(value).strip()
    ]


@pytest.mark.parametrize("path", sorted(ONTOLOGY_DIR.glob("*.ttl")), ids=lambda p: p.name)
def test_every_file_parses(path: Path) -> None:
    assert len(Graph().parse(path, format="turtle")) > 0


def test_ontology_header(ontology: Graph) -> None:
    assert (ONTOLOGY_IRI, RDF.type, OWL.Ontology) in ontology
    assert english(ontology, ONTOLOGY_IRI, DCTERMS.title)
    assert english(ontology, ONTOLOGY_IRI, DCTERMS.description)
    assert ontology.value(ONTOLOGY_IRI, OWL.versionInfo) == Literal("0.1.0")
    license_ = ontology.value(ONTOLOGY_IRI, DCTERMS.license)
    assert license_ == URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert ontology.value(ONTOLOGY_IRI, URIRef(VANN + "preferredNamespacePrefix")) == Literal("cg")
    namespace = ontology.value(ONTOLOGY_IRI, URIRef(VANN + "preferredNamespaceUri"))
    assert namespace == Literal(str(CG))


# The agreed term list. A new term is added to the ontology, its shapes, README.md and here.
CLASSES = """Actor Person Organization GovernmentBody MediaOutlet Affiliation Claim Statement
    Source NewsArticle Report Letter PressRelease Photograph WebPage SocialMediaPosting
    ExecutiveOrder Evidence EvidenceAssessment
    PropagationAnalysis Propagation ClaimPropagation StancePropagation StatementPropagation Echo"""
PROPERTIES = """affiliation parentOrganization country member organization role startDate endDate
    dateNote text topic about relatedClaim contradicts sameClaimAs partOf speaker claim stance
    date dateApproximate source excerpt quote quoteSource reportedBy note title publisher author
    datePublished language translationOf translatedBy partOfSource description documentedIn
    evidenceSource evidence assessedClaim direction assessedBy assessmentDate confidence
    rationale normalizedVerdict
    propagationOf partOfPropagation origin reporter uncarriedRebuttal forStance statementCount
    originCount independentSpeakers independentSources repeatCount repeatedBy firstStatement
    latestStatement firstSaid latestSaid firstHand echoDepth echoCount readInTranslation hopFrom
    hopTo minLagDays maxLagDays writeGeneration"""


def test_ontology_has_the_agreed_terms(ontology: Graph) -> None:
    classes = own_terms(ontology, OWL.Class)
    properties = own_terms(ontology, OWL.ObjectProperty, OWL.DatatypeProperty)
    assert set(classes) == {CG[name] for name in CLASSES.split()}
    assert set(properties) == {CG[name] for name in PROPERTIES.split()}


def test_every_term_has_english_label_and_comment(ontology: Graph) -> None:
    terms = own_terms(ontology, OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)
    undocumented = [
        term
        for term in terms
        if len(english(ontology, term, RDFS.label)) != 1
        or not english(ontology, term, RDFS.comment)
    ]
    assert not undocumented, f"need one rdfs:label@en and an rdfs:comment@en: {undocumented}"


def test_every_term_is_defined_by_the_ontology(ontology: Graph) -> None:
    terms = own_terms(ontology, OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)
    missing = [t for t in terms if (t, RDFS.isDefinedBy, ONTOLOGY_IRI) not in ontology]
    assert not missing


def test_every_property_has_domain_and_range(ontology: Graph) -> None:
    properties = own_terms(ontology, OWL.ObjectProperty, OWL.DatatypeProperty)
    assert not [p for p in properties if ontology.value(p, RDFS.domain) is None]
    no_range = [p for p in properties if ontology.value(p, RDFS.range) is None]
    assert sorted(no_range) == sorted(RANGE_EXEMPTIONS)


def test_hierarchy_stays_in_own_namespace(ontology: Graph) -> None:
    """Links to other vocabularies belong in alignment.ttl, not in the ontology."""
    for predicate in (RDFS.subClassOf, RDFS.subPropertyOf):
        foreign = [(s, o) for s, o in ontology.subject_objects(predicate) if not is_own(o)]
        assert not foreign, f"{predicate} to a foreign term in claimgraph.ttl: {foreign}"


def test_expected_hierarchy(ontology: Graph) -> None:
    assert (CG.Person, RDFS.subClassOf, CG.Actor) in ontology
    assert (CG.GovernmentBody, RDFS.subClassOf, CG.Organization) in ontology
    assert (CG.NewsArticle, RDFS.subClassOf, CG.Source) in ontology
    for relation in (CG.contradicts, CG.sameClaimAs, CG.partOf):
        assert (relation, RDFS.subPropertyOf, CG.relatedClaim) in ontology
    for symmetric in (CG.contradicts, CG.sameClaimAs):
        assert (symmetric, RDF.type, OWL.SymmetricProperty) in ontology


def test_every_class_is_targeted_by_a_shape(ontology: Graph) -> None:
    targeted = set(load_shapes().objects(None, SH.targetClass))
    untargeted = [c for c in own_terms(ontology, OWL.Class) if c not in targeted]
    assert not untargeted, f"no shape has sh:targetClass for {untargeted}"


def test_every_property_is_the_path_of_a_shape(ontology: Graph) -> None:
    paths = set(load_shapes().objects(None, SH.path))
    properties = own_terms(ontology, OWL.ObjectProperty, OWL.DatatypeProperty)
    unchecked = [p for p in properties if p not in paths and p not in PATH_EXEMPTIONS]
    assert not unchecked, f"no property shape has sh:path {unchecked}"


def test_every_concept_is_in_exactly_one_scheme(vocab: Graph) -> None:
    for concept in vocab.subjects(RDF.type, SKOS.Concept):
        schemes = set(vocab.objects(concept, SKOS.inScheme))
        assert len(schemes) == 1, f"{concept} is in {len(schemes)} schemes"
        (scheme,) = schemes
        assert (scheme, RDF.type, SKOS.ConceptScheme) in vocab
        assert (concept, SKOS.topConceptOf, scheme) in vocab
        assert (scheme, SKOS.hasTopConcept, concept) in vocab
        assert str(concept).startswith(str(scheme) + "#"), (
            f"{concept} is outside {scheme}'s namespace"
        )


def test_every_concept_is_documented(vocab: Graph) -> None:
    for concept in vocab.subjects(RDF.type, SKOS.Concept):
        assert len(english(vocab, concept, SKOS.prefLabel)) == 1, concept
        assert english(vocab, concept, SKOS.definition), concept
        assert vocab.value(concept, SKOS.notation) is not None, concept


def test_schemes_are_titled_and_complete(vocab: Graph) -> None:
    schemes = set(vocab.subjects(RDF.type, SKOS.ConceptScheme))
    assert {str(s).rsplit("/", 1)[1] for s in schemes} == {
        "stance",
        "direction",
        "verdict",
        "topic",
    }
    for scheme in schemes:
        assert english(vocab, scheme, DCTERMS.title), scheme
        for concept in vocab.objects(scheme, SKOS.hasTopConcept):
            assert (concept, RDF.type, SKOS.Concept) in vocab, f"{scheme} lists unknown {concept}"


def test_alignment_header_imports_nothing(alignment: Graph) -> None:
    assert (ALIGNMENT_IRI, RDF.type, OWL.Ontology) in alignment
    assert alignment.value(ALIGNMENT_IRI, OWL.imports) is None


def test_alignment_uses_only_mapping_axioms_to_external_terms(alignment: Graph) -> None:
    """Our terms map outwards with the five axiom types; external terms may only be labelled."""
    for subject, predicate, obj in alignment:
        if subject == ALIGNMENT_IRI:
            continue
        if is_own(subject):
            assert predicate in ALIGNMENT_AXIOMS, f"{subject} {predicate}: not a mapping axiom"
            assert isinstance(obj, URIRef) and not is_own(obj), f"{subject} maps to {obj}"
        else:
            assert predicate in (RDFS.label, RDFS.comment), f"{subject} {predicate} in alignment"


def test_alignment_maps_only_declared_terms(
    ontology: Graph, vocab: Graph, alignment: Graph
) -> None:
    declared = set(ontology.subjects()) | set(vocab.subjects())
    unknown = {s for s in alignment.subjects() if is_own(s) and s != ALIGNMENT_IRI} - declared
    assert not unknown, f"alignment.ttl maps terms that are not declared: {unknown}"
