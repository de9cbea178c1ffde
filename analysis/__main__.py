import gc

from analysis.cli import main

status = main()
# Everything alive now lives until the process ends: spare the interpreter's shutdown
# from collecting it (some 0.4 s after a render, which imports ~1,200 modules).
gc.freeze()
raise SystemExit(status)
