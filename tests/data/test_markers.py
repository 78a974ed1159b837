"""Entity markers from character spans."""

import pytest

from epee.data.markers import EntitySpan, all_marker_tokens, insert_entity_markers

TEXT = "Aspirin inhibits COX-1 strongly."
CHEMICAL = EntitySpan(0, 7, "Chemical")
GENE = EntitySpan(17, 22, "Gene")


def test_typed_markers_numbered_in_the_given_order():
    marked = insert_entity_markers(TEXT, [GENE, CHEMICAL])
    assert marked.text == "[E2:Chemical] Aspirin [/E2] inhibits [E1:Gene] COX-1 [/E1] strongly."
    assert marked.special_tokens == ("[E1:Gene]", "[/E1]", "[E2:Chemical]", "[/E2]")


def test_all_marker_tokens_for_a_tokenizer():
    assert all_marker_tokens(["Gene", "Chemical"]) == (
        "[E1:Chemical]",
        "[E1:Gene]",
        "[/E1]",
        "[E2:Chemical]",
        "[E2:Gene]",
        "[/E2]",
    )


@pytest.mark.parametrize("span", [EntitySpan(20, 40, "Gene"), EntitySpan(-1, 3, "Gene"), EntitySpan(5, 5, "Gene")])
def test_span_outside_the_text_names_span_and_length(span):
    with pytest.raises(ValueError, match=rf"\[{span.start}, {span.end}\) .* text of length {len(TEXT)}"):
        insert_entity_markers(TEXT, [span])


def test_overlapping_or_missing_spans_are_rejected():
    with pytest.raises(ValueError, match=r"\[0, 7\) and \[5, 10\) overlap"):
        insert_entity_markers(TEXT, [CHEMICAL, EntitySpan(5, 10, "Gene")])
    with pytest.raises(ValueError, match="No entity spans"):
        insert_entity_markers(TEXT, [])
