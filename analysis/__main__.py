import gc

from analysis.paths import one_blas_thread

one_blas_thread()

from analysis.cli import main  # noqa: E402  (after the BLAS setting: numpy reads it when imported)

status = main()
# Everything alive now lives until the process ends: spare the interpreter's shutdown
# from collecting it (some 0.4 s after a render, which imports ~1,200 modules).
gc.freeze()
raise SystemExit(status)
