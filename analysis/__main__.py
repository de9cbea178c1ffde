import gc
import os

# One BLAS thread, in this process and the ones it starts (pre-render step, kernels): the matrices
# here are small (a Cox model's few columns), and OpenBLAS's idle threads spin between calls, which
# cost 0.1-0.3 s of CPU per process and no wall time saved. A value the user set is kept.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from analysis.cli import main  # noqa: E402  (after the BLAS setting: numpy reads it when imported)

status = main()
# Everything alive now lives until the process ends: spare the interpreter's shutdown
# from collecting it (some 0.4 s after a render, which imports ~1,200 modules).
gc.freeze()
raise SystemExit(status)
