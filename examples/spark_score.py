"""Score a Parquet archive of notes with Spark, through epee's BatchPredictor (Spark is not an epee dependency).

    pip install pyspark 'epee[parquet]'
    python examples/spark_score.py runs/ddi notes.parquet scored/ --text-column text

Each Spark executor builds one BatchPredictor (the checkpoint is loaded once per Python worker) and
Spark's ``predict_batch_udf`` hands it column arrays of ``batch_size`` rows; the early exits happen
inside, so rows that leave at layer 1 cost one layer on the executors too. The checkpoint directory
must be readable at the same path on every executor (a shared file system, or ship it with --files).
"""

from __future__ import annotations

import argparse

import numpy as np


def make_predict_fn(checkpoint: str):
    """What ``predict_batch_udf`` calls once per Python worker: load the model, return the batch function."""

    def make():
        from epee.runtime import BatchPredictor

        predictor = BatchPredictor(checkpoint)

        def predict(texts: np.ndarray) -> dict[str, np.ndarray]:
            columns = predictor.predict_columns(texts)
            return {
                "label": columns["label"].astype(str),  # single-label checkpoints; a multi-label one needs ArrayType
                "score": columns["score"].astype(np.float32),
                "probabilities": columns["probabilities"].astype(np.float32),
                "exit_layer": columns["exit_layer"].astype(np.int32),
            }

        return predict

    return make


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("input", help="a Parquet file or folder with a text column")
    parser.add_argument("output", help="a folder for the scored Parquet files")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--batch-size", type=int, default=256)
    arguments = parser.parse_args()

    from pyspark.ml.functions import predict_batch_udf
    from pyspark.sql import SparkSession
    from pyspark.sql.types import ArrayType, FloatType, IntegerType, StringType, StructField, StructType

    spark = SparkSession.builder.appName("epee-score").getOrCreate()
    schema = StructType(
        [
            StructField("label", StringType()),
            StructField("score", FloatType()),
            StructField("probabilities", ArrayType(FloatType())),
            StructField("exit_layer", IntegerType()),
        ]
    )
    predict_fn = make_predict_fn(arguments.checkpoint)
    score = predict_batch_udf(predict_fn, return_type=schema, batch_size=arguments.batch_size)
    notes = spark.read.parquet(arguments.input)
    scored = notes.withColumn("prediction", score(arguments.text_column)).select("*", "prediction.*").drop("prediction")
    scored.write.mode("error").parquet(arguments.output)


if __name__ == "__main__":
    main()
