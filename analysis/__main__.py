import gc

from analysis.paths import command_process

command_process()

from analysis.cli import main  # noqa: E402  (after the process settings: numpy reads the BLAS one when imported)

status = main()
# Everything alive now lives until the process ends: spare the interpreter's shutdown
# from collecting it (some 0.4 s after a render, which imports ~1,200 modules).
gc.freeze()
raise SystemExit(status)
