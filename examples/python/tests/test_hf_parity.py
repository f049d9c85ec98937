"""Same entities as Hugging Face's pipeline("token-classification",
aggregation_strategy="first") on the parity fixture model.

transformers and torch are required: `make test-python` reuses the system's
copies (--system-site-packages) or installs them; when neither works this test
FAILS (it is never skipped).
"""

import pytest

from conftest import TEXTS


@pytest.fixture(scope="module")
def hf_pipeline(model_dir):
    try:
        import transformers
    except ImportError as e:  # pragma: no cover - a broken environment must fail loudly
        pytest.fail(f"transformers/torch are needed for the Hugging Face comparison: {e}")
    return transformers.pipeline("token-classification", model=str(model_dir),
                                 tokenizer=str(model_dir), aggregation_strategy="first",
                                 device=-1)


def test_entities_equal_hugging_face(pipeline, hf_pipeline):
    total = non_ascii = 0
    for text in TEXTS:
        ours = pipeline(text)
        theirs = hf_pipeline(text) if text else []
        assert [(e.label, e.start, e.end) for e in ours] == \
               [(h["entity_group"], h["start"], h["end"]) for h in theirs], text
        for e, h in zip(ours, theirs):
            # HF scores are float32; medner's are float32 logits in double softmax
            assert abs(e.score - float(h["score"])) < 1e-4
            assert text[h["start"]:h["end"]] == e.text
            total += 1
            non_ascii += any(ord(c) > 127 for c in text[:e.end])
    assert total >= 15 and non_ascii >= 8


def test_tokenizer_equals_hugging_face(model_dir):
    import transformers

    import medner
    hf = transformers.AutoTokenizer.from_pretrained(str(model_dir))
    with medner.Tokenizer(str(model_dir)) as tok:
        for text in TEXTS:
            ours = tok.encode(text)
            theirs = hf(text, return_offsets_mapping=True, truncation=False)
            assert ours.ids == theirs["input_ids"], text
            assert ours.tokens == hf.convert_ids_to_tokens(theirs["input_ids"]), text
            assert ours.offsets == [tuple(o) for o in theirs["offset_mapping"]], text
            assert ours.word_ids == theirs.word_ids(), text
