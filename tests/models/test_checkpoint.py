"""save_pretrained -> from_pretrained gives bit-identical logits; broken checkpoints fail loudly."""

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from epee.errors import EpeeError
from epee.models import MultiExitModel
from epee.models.backbones import load_tokenizer
from epee.tasks.encoding import TextFeaturizer
from tests.helpers import tiny_bert_model

TEXTS = ["Aspirin may increase the anticoagulant effect of warfarin.", "No interaction was found.", "x"]


def _batch(model):
    return TextFeaturizer(model.tokenizer, 32).collate(TextFeaturizer(model.tokenizer, 32).encode_texts(TEXTS))


def _perturb_heads(model):
    """Move heads away from their initialisation so a silent re-init would show."""
    with torch.no_grad():
        for parameter in model.heads.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.5)


def test_full_round_trip_is_bit_identical(tmp_path):
    model = tiny_bert_model().eval()
    _perturb_heads(model)
    model.save_pretrained(tmp_path / "ck")
    loaded = MultiExitModel.from_pretrained(tmp_path / "ck")
    with torch.no_grad():
        assert torch.equal(model(_batch(model)), loaded(_batch(loaded)))
    assert loaded.config == model.config


def test_lora_round_trip_keeps_heads_and_adapter(tmp_path):
    base = tiny_bert_model()
    base.backbone.save_pretrained(tmp_path / "base")
    base.tokenizer.save_pretrained(tmp_path / "base")
    model = MultiExitModel.from_backbone(str(tmp_path / "base"), label_names=["a", "b", "c"])
    model.add_peft()
    with torch.no_grad():  # LoRA B starts at zero: make the adapter matter
        for name, parameter in model.backbone.named_parameters():
            if "lora_B" in name:
                parameter.add_(torch.randn_like(parameter))
    _perturb_heads(model)
    model.eval()
    model.save_pretrained(tmp_path / "ck")
    assert not (tmp_path / "ck" / "backbone").exists()
    loaded = MultiExitModel.from_pretrained(tmp_path / "ck", allow_external_backbone=True)  # base is outside ck
    with torch.no_grad():
        assert torch.equal(model(_batch(model)), loaded(_batch(loaded)))
    assert loaded.config.peft == {
        "method": "lora",
        "r": 8,
        "alpha": 8,
        "dropout": 0.1,
        "target_modules": ["query", "key", "value"],
    }


def test_merging_lora_keeps_logits(tmp_path):
    model = tiny_bert_model()
    model.add_peft()
    with torch.no_grad():
        for name, parameter in model.backbone.named_parameters():
            if "lora_B" in name:
                parameter.add_(torch.randn_like(parameter) * 0.1)
    model.eval()
    with torch.no_grad():
        before = model(_batch(model))
        model.merge_peft()
        after = model(_batch(model))
    torch.testing.assert_close(before, after, atol=1e-5, rtol=1e-5)
    assert not any("lora" in name for name, _ in model.named_parameters())


def test_missing_backbone_weight_fails_loudly(tmp_path):
    model = tiny_bert_model()
    model.save_pretrained(tmp_path / "ck")
    weights_path = tmp_path / "ck" / "backbone" / "model.safetensors"
    weights = load_file(weights_path)
    weights.pop(next(name for name in weights if "encoder.layer.1" in name))
    save_file(weights, weights_path, metadata={"format": "pt"})
    with pytest.raises(ValueError, match="do not match its config"):
        MultiExitModel.from_pretrained(tmp_path / "ck")


def test_unexpected_head_weight_fails_loudly(tmp_path):
    model = tiny_bert_model()
    model.save_pretrained(tmp_path / "ck")
    heads_path = tmp_path / "ck" / "exit_heads.safetensors"
    weights = load_file(heads_path)
    weights["classifiers.99.weight"] = torch.zeros(2, 32)
    save_file(weights, heads_path)
    with pytest.raises(ValueError, match="unexpected"):
        MultiExitModel.from_pretrained(tmp_path / "ck")


def test_not_a_checkpoint_and_missing_path(tmp_path):
    with pytest.raises(EpeeError, match="does not exist"):
        MultiExitModel.from_pretrained(tmp_path / "nowhere")
    with pytest.raises(EpeeError, match="has no epee_config.json"):
        MultiExitModel.from_pretrained(tmp_path)


def test_model_path_that_does_not_exist():
    with pytest.raises(EpeeError, match="does not exist"):
        MultiExitModel.from_backbone("./no/such/model", label_names=["a", "b"])


def test_lora_target_that_matches_nothing_names_the_layers():
    model = tiny_bert_model()
    with pytest.raises(ValueError, match=r"match no module of this backbone; its linear layers are named \[.*'query'"):
        model.add_peft(target_modules=["q_proj"])


def test_failed_save_leaves_nothing_half_written(tmp_path, monkeypatch):
    model = tiny_bert_model()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(model.tokenizer, "save_pretrained", fail)
    with pytest.raises(OSError, match="disk full"):
        model.save_pretrained(tmp_path / "ck")
    assert list(tmp_path.iterdir()) == []


def test_skip_first_layers_and_config_is_plain_json(tmp_path):
    model = tiny_bert_model(layers=4, first_exit_layer=3, pooler="shared")
    assert model.exit_layers == [3, 4]
    assert len(model.heads.poolers) == 1
    with torch.no_grad():
        assert model.eval()(_batch(model)).shape == (2, 3, 2)
    model.save_pretrained(tmp_path / "ck")
    saved = json.loads((tmp_path / "ck" / "epee_config.json").read_text())
    assert saved["first_exit_layer"] == 3 and saved["label_names"] == ["negative", "positive"]


def test_exit_poolers_start_from_the_pretrained_pooler():
    model = tiny_bert_model()
    for pooler in model.heads.poolers:
        assert torch.equal(pooler[0].weight, model.backbone.pooler.dense.weight)
        assert pooler[0].weight.data_ptr() != model.backbone.pooler.dense.weight.data_ptr()


def test_mlp_heads_are_a_fresh_dense_gelu_layer_per_exit_and_round_trip(tmp_path):
    model = tiny_bert_model(pooler="mlp").eval()
    _perturb_heads(model)
    assert len(model.heads.poolers) == len(model.exit_layers) == 3
    features = torch.randn(4, 32)
    for index, layer in enumerate(model.heads.poolers):
        assert not torch.equal(layer[0].weight, model.backbone.pooler.dense.weight)  # not the pretrained pooler
        dense, classifier = layer[0], model.heads.classifiers[index]
        expected = classifier(torch.nn.functional.gelu(features @ dense.weight.T + dense.bias))
        with torch.no_grad():
            assert torch.allclose(model.heads(index, features), expected, atol=1e-6)
    model.save_pretrained(tmp_path / "ck")
    loaded = MultiExitModel.from_pretrained(tmp_path / "ck")
    assert loaded.config.pooler == "mlp"
    with torch.no_grad():
        assert torch.equal(model(_batch(model)), loaded(_batch(loaded)))


def test_real_minilm_adapter_reproduces_forward():
    from transformers import AutoModel

    from epee.models.backbones import resolve_backbone
    from epee.models.families import build_family

    backbone = AutoModel.from_pretrained(resolve_backbone("minilm")).eval()
    tokenizer = load_tokenizer("minilm")
    inputs = dict(tokenizer(TEXTS, padding=True, return_tensors="pt"))
    adapter = build_family(backbone)
    with torch.no_grad():
        state = adapter.embed(inputs)
        for index in range(adapter.num_layers):
            state = adapter.run_layer(index, state)
        expected = backbone(**inputs).last_hidden_state
    real = inputs["attention_mask"].bool()
    torch.testing.assert_close(adapter.output_hidden(state)[real], expected[real], atol=1e-5, rtol=0)


def test_sentence_transformers_backbone_defaults_to_its_declared_pooling():
    model = MultiExitModel.from_backbone("minilm", label_names=["a", "b"])
    assert model.config.pooling == "mean" and model.config.backbone == "sentence-transformers/all-MiniLM-L6-v2"
    assert MultiExitModel.from_backbone("minilm", label_names=["a", "b"], pooling="cls").config.pooling == "cls"


def test_ia3_round_trip(tmp_path):
    base = tiny_bert_model()
    base.backbone.save_pretrained(tmp_path / "base")
    base.tokenizer.save_pretrained(tmp_path / "base")
    model = MultiExitModel.from_backbone(str(tmp_path / "base"), label_names=["a", "b"])
    model.add_peft("ia3", target_modules=["key", "value", "output.dense"], feedforward_modules=["output.dense"])
    with torch.no_grad():
        for name, parameter in model.backbone.named_parameters():
            if "ia3_" in name:
                parameter.mul_(torch.rand_like(parameter) + 0.5)
    model.eval().save_pretrained(tmp_path / "ck")
    loaded = MultiExitModel.from_pretrained(tmp_path / "ck", allow_external_backbone=True)  # base is outside ck
    with torch.no_grad():
        assert torch.equal(model(_batch(model)), loaded(_batch(loaded)))
    assert loaded.config.peft["method"] == "ia3"


def test_added_marker_tokens_train_under_lora_and_survive_reload_and_merge(tmp_path):
    from epee.data import Dataset, Example
    from epee.train import TrainingSettings
    from epee.workflow.fit import build_text_model, train_on_dataset

    base = tiny_bert_model()
    base.backbone.save_pretrained(tmp_path / "base")
    base.tokenizer.save_pretrained(tmp_path / "base")
    texts = ["We report the [E1] bleeding [/E1] after amprenavir.", "A [E1] rash [/E1] resolved."]
    dataset = Dataset(
        name="markers",
        task="single_label",
        label_names=["a", "b"],
        train=[Example(text, (label,)) for text, label in zip(texts, "ab", strict=True)],
        dev=None,
        test=None,
        metric="accuracy",
        special_tokens=("[E1]", "[/E1]"),
    )
    model = build_text_model(dataset, backbone=str(tmp_path / "base"))
    marker_ids = model.tokenizer.convert_tokens_to_ids(["[E1]", "[/E1]"])
    assert model.config.peft["new_token_ids"] == marker_ids
    marker_rows = next(p for name, p in model.backbone.named_parameters() if "trainable_tokens_delta" in name)
    initial_rows = marker_rows.detach().clone()
    train_on_dataset(model, dataset, TrainingSettings(epochs=1, batch_size=2, learning_rate=1e-2))
    assert not torch.equal(marker_rows, initial_rows), "the marker embeddings did not train"
    with torch.no_grad():  # move the marker rows and the adapter away from their initialisation
        for name, parameter in model.backbone.named_parameters():
            if "lora_B" in name or "trainable_tokens_delta" in name:
                parameter.add_(torch.randn_like(parameter))
    model.eval()
    batch = TextFeaturizer(model.tokenizer, 32).collate(TextFeaturizer(model.tokenizer, 32).encode_texts(texts))
    assert set(marker_ids) <= set(batch["input_ids"].flatten().tolist())

    model.save_pretrained(tmp_path / "ck")
    loaded = MultiExitModel.from_pretrained(tmp_path / "ck", allow_external_backbone=True)  # base is outside ck
    with torch.no_grad():
        before = model(batch)
        assert torch.equal(before, loaded(batch))
        loaded.merge_peft()
        torch.testing.assert_close(loaded(batch), before, atol=1e-5, rtol=1e-5)
    assert not any("token_adapter" in name for name, _ in loaded.named_modules())
