import pytest
import sacrebleu

from rdistill.evaluation.bleu import corpus_bleu


def test_identical_is_one():
    predictions = ["a dog is an animal", "the man may not be happy today"]
    result = corpus_bleu(predictions, [[p, "something else"] for p in predictions])
    assert result["bleu"] == pytest.approx(1.0)
    assert result["protocol"]["bleu_0_100"] == pytest.approx(100.0)


def test_hand_computed_single_sentence():
    # hyp "the cat sat on the mat" vs ref "the cat sat on a mat" (6 tokens each, BP = 1):
    # 1-grams 5/6 (second "the" clipped), 2-grams 3/5 (the cat, cat sat, sat on),
    # 3-grams 2/4 (the cat sat, cat sat on), 4-grams 1/3 (the cat sat on).
    # BLEU = (5/6 * 3/5 * 2/4 * 1/3) ** (1/4) = (1/12) ** 0.25 = 0.5373
    result = corpus_bleu(["the cat sat on the mat"], [["the cat sat on a mat"]])
    assert result["bleu"] == pytest.approx((1 / 12) ** 0.25)


def test_two_reference_streams_match_sacrebleu():
    predictions = ["a man is sleeping so he is not awake.", "dogs are animals", "it is raining"]
    references = [
        ["A man who sleeps is not awake.", "The man sleeps, so he cannot be awake.",
         "a man is sleeping so he is not awake."],
        ["A dog is an animal.", "Dogs are a kind of animal."],
        ["The weather is wet.", "Rain falls outside."],
    ]
    expected = sacrebleu.corpus_bleu(
        predictions,
        [[refs[0] for refs in references], [refs[1] for refs in references]],
    )
    result = corpus_bleu(predictions, references)
    assert result["protocol"]["bleu_0_100"] == pytest.approx(expected.score)
    assert result["bleu"] == pytest.approx(expected.score / 100)
    assert 0.0 < result["bleu"] < 1.0
    # The third explanation (here equal to the prediction) is not a reference.
    with_third = sacrebleu.corpus_bleu(
        predictions, [[r[0] for r in references], [r[1] for r in references],
                      [r[2] if len(r) > 2 else None for r in references]]
    )
    assert with_third.score != pytest.approx(expected.score)


def test_corpus_level_is_not_mean_of_sentences():
    predictions = ["the cat sat on the mat", "a dog"]
    references = [["the cat sat on a mat"], ["a dog runs in the park"]]
    corpus = corpus_bleu(predictions, references)["bleu"]
    sentences = [sacrebleu.sentence_bleu(p, r).score / 100 for p, r in zip(predictions, references)]
    expected = sacrebleu.corpus_bleu(predictions, [[r[0] for r in references]]).score / 100
    assert corpus == pytest.approx(expected)
    assert corpus != pytest.approx(sum(sentences) / 2)


def test_single_reference_rows_equal_repeating_the_first():
    predictions = ["the cat sat on the mat", "a dog runs"]
    references = [["the cat sat on a mat", "a cat is on a mat"], ["a dog is running", "  "]]
    result = corpus_bleu(predictions, references)
    repeated = sacrebleu.corpus_bleu(
        predictions,
        [["the cat sat on a mat", "a dog is running"], ["a cat is on a mat", "a dog is running"]],
    )
    assert result["protocol"]["bleu_0_100"] == pytest.approx(repeated.score)
    assert result["protocol"]["n_single_reference"] == 1
    assert "nrefs:var" in result["protocol"]["signature"]


def test_rows_without_references_are_excluded():
    result = corpus_bleu(["a dog runs in the park", "x"], [["a dog runs in the park", "a dog"], []])
    assert result["bleu"] == pytest.approx(1.0)
    assert result["protocol"]["n_scored"] == 1
    assert result["protocol"]["n_excluded_no_reference"] == 1


def test_nothing_to_score():
    result = corpus_bleu(["x"], [[" "]])
    assert result["bleu"] is None
    assert result["protocol"]["signature"] is None


def test_empty_prediction_scores_zero():
    assert corpus_bleu([""], [["a dog runs"]])["bleu"] == 0.0


def test_protocol():
    protocol = corpus_bleu(["a b c d"], [["a b c d", "a b c e"]])["protocol"]
    assert protocol["references"].startswith("explanation_1, explanation_2")
    assert protocol["tokenize"] == "13a"
    assert protocol["sacrebleu_version"] == sacrebleu.__version__
    assert "tok:13a" in protocol["signature"] and "nrefs:2" in protocol["signature"]


def test_length_mismatch():
    with pytest.raises(ValueError, match="1 predictions but 2 reference lists"):
        corpus_bleu(["x"], [["x"], ["y"]])
