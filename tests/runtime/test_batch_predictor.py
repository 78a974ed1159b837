"""Issue 16, item 2: ``BatchPredictor`` returns the same rows with label, score, probabilities and exit layer."""

import numpy as np
import pytest

from epee.errors import EpeeError
from epee.policies import make_policy
from epee.runtime import BatchPredictor, predict
from tests.helpers import varied_texts, varied_tiny_model

POLICY = make_policy("maxprob", threshold=0.6)


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    path = tmp_path_factory.mktemp("batch") / "checkpoint"
    varied_tiny_model().save_pretrained(path)
    return BatchPredictor(path, policy=POLICY, batch_size=4)


def test_dict_of_arrays_keeps_its_columns_and_gains_the_predictions(predictor):
    texts = varied_texts(11)
    batch = {"id": np.arange(11), "text": np.array(texts, dtype=object)}
    out = predictor(batch)
    expected = predict(predictor.model, texts, policy=POLICY, batch_size=4)
    assert list(out) == ["id", "text", "label", "score", "probabilities", "exit_layer"]
    assert out["id"].tolist() == list(range(11)) and out["text"].tolist() == texts
    assert out["label"].tolist() == expected.labels
    assert out["exit_layer"].tolist() == expected.exit_layer.tolist()
    np.testing.assert_allclose(out["probabilities"], expected.probabilities.numpy(), rtol=0, atol=1e-7)
    assert out["score"].tolist() == pytest.approx(out["probabilities"].max(axis=1).tolist())
    assert out["probabilities"].shape == (11, 3)


def test_pandas_frame_in_pandas_frame_out_in_the_same_order(predictor):
    pandas = pytest.importorskip("pandas")
    texts = varied_texts(7, seed=3)
    frame = pandas.DataFrame({"text": texts, "note_id": [f"n{index}" for index in range(7)]}, index=range(10, 17))
    out = predictor(frame)
    by_dict = predictor({"text": texts})
    assert list(out.index) == list(range(10, 17)) and list(out["note_id"]) == [f"n{index}" for index in range(7)]
    assert list(out["label"]) == by_dict["label"].tolist()
    assert list(out["exit_layer"]) == by_dict["exit_layer"].tolist()
    assert np.stack(out["probabilities"]).tolist() == by_dict["probabilities"].tolist()


def test_spark_style_column_function_and_a_missing_column(predictor):
    texts = np.array(varied_texts(3), dtype=object)
    columns = predictor.predict_columns(texts)  # what a predict_batch_udf's predict function returns
    assert set(columns) == {"label", "score", "probabilities", "exit_layer"} and len(columns["label"]) == 3
    with pytest.raises(EpeeError, match="no column 'text'; its columns are \\['note'\\]"):
        predictor({"note": np.array(["x"])})


def test_the_spark_example_s_predict_function_without_spark(tmp_path_factory, predictor):
    """examples/spark_score.py's batch function, called as Spark's predict_batch_udf would call it."""
    import importlib.util

    from tests.conftest import REPO_ROOT

    spec = importlib.util.spec_from_file_location("spark_score", REPO_ROOT / "examples" / "spark_score.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)  # pyspark is imported only in main(), so this runs without Spark
    path = tmp_path_factory.mktemp("spark") / "checkpoint"
    varied_tiny_model().save_pretrained(path)
    texts = np.array(varied_texts(5, seed=9), dtype=object)
    columns = example.make_predict_fn(str(path))()(texts)
    expected = BatchPredictor(path).predict_columns(texts)
    assert columns["label"].tolist() == expected["label"].tolist()
    assert columns["exit_layer"].dtype == np.int32 and columns["probabilities"].shape == (5, 3)
