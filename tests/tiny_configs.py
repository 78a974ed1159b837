"""Tiny random configs of every supported backbone family, shared by the adapter and runtime tests."""

from transformers import (
    AlbertConfig,
    BertConfig,
    DistilBertConfig,
    GPT2Config,
    LlamaConfig,
    MistralConfig,
    MPNetConfig,
    Qwen2Config,
    RobertaConfig,
    ViTConfig,
)

TINY = dict(hidden_size=32, num_hidden_layers=3, num_attention_heads=4, intermediate_size=37, vocab_size=99)
DECODER_TOKENS = dict(pad_token_id=0, bos_token_id=1, eos_token_id=2, max_position_embeddings=64)

CONFIGS = {
    "bert": lambda: BertConfig(**TINY),
    "roberta": lambda: RobertaConfig(**TINY, pad_token_id=1, max_position_embeddings=64),
    # Two groups of two inner layers over three steps: group indices 0, 0, 1, as AlbertTransformer picks them.
    "albert": lambda: AlbertConfig(**TINY, embedding_size=16, num_hidden_groups=2, inner_group_num=2),
    "distilbert": lambda: DistilBertConfig(vocab_size=99, dim=32, n_layers=3, n_heads=4, hidden_dim=37),
    "mpnet": lambda: MPNetConfig(**TINY, max_position_embeddings=64),
    "gpt2": lambda: GPT2Config(
        vocab_size=99, n_embd=32, n_layer=3, n_head=4, n_inner=37, n_positions=64, bos_token_id=1, eos_token_id=2
    ),
    "llama": lambda: LlamaConfig(**TINY, **DECODER_TOKENS, num_key_value_heads=2),
    # Windows shorter than the batch's 9 tokens, so the sliding masks differ from the full one.
    "mistral": lambda: MistralConfig(**TINY, **DECODER_TOKENS, num_key_value_heads=2, sliding_window=4),
    "qwen2": lambda: Qwen2Config(
        **TINY, **DECODER_TOKENS, num_key_value_heads=2, use_sliding_window=True, sliding_window=4, max_window_layers=1
    ),
    "vit": lambda: ViTConfig(
        hidden_size=32,
        num_hidden_layers=3,
        num_attention_heads=4,
        intermediate_size=37,
        image_size=28,
        patch_size=7,
        num_channels=1,
    ),
}
