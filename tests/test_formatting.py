from epee.formatting import format_params


def test_parameters_are_compact():
    assert format_params({"alpha": 1.298889, "weights": "cost", "num_exits": 6, "accuracies": None}) == (
        "alpha=1.3, weights=cost, num_exits=6"
    )
    assert format_params({"accuracies": [0.51234, 0.6]}) == "accuracies=[0.512,0.6]"
