"""The workflows users run end to end: build and train a model, calibrate it on dev, assess it on test, the demo.

They compose the lower packages (data -> tasks -> models -> policies -> runtime -> train / calibrate
-> evaluate) and are what the command line and the benchmark suite call.
"""
