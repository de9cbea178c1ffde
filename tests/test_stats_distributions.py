"""analysis.stats.distributions reaches scipy.special's ufuncs without the package's __init__ (issue 17).

Run in a fresh interpreter each: what is imported depends on what the process imported before.
"""
from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from analysis.stats import distributions as d
assert "scipy.special" not in sys.modules, "scipy.special's __init__ ran"
assert "scipy._lib._array_api" not in sys.modules, "scipy's array-API layer was imported"
cheap = {name: getattr(d._special, name) for name in d.UFUNCS}
args = {"ndtri": (0.975,), "ndtr": (-1.3,), "chdtrc": (3, 7.2), "betaincinv": (2.0, 9.0, 0.025),
        "betainccinv": (3.0, 8.0, 0.025), "gammaln": (17.5,)}
before = {name: float(f(*args[name])) for name, f in cheap.items()}

import scipy.special   # the real package afterwards: its __init__ runs and exports the same functions
assert scipy.special.__file__.endswith("__init__.py")
for name, f in cheap.items():
    real = getattr(scipy.special, name)
    assert float(real(*args[name])) == before[name], name
    if isinstance(real, type(scipy.special.ndtr)):   # a plain ufunc (SCIPY_ARRAY_API unset): the same object
        assert real is f, name
print("ok")
"""


def test_ufuncs_without_the_package_init_are_scipy_special_functions():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"


def test_values_as_r_computes_them():
    from analysis.stats import distributions as d

    # R 4.2: qnorm(0.975), pchisq(3.84, 1, lower.tail = FALSE), qbeta(0.025, 3, 10), lgamma(10.5)
    assert abs(d.two_sided_z(0.05) - 1.959963984540054) < 1e-15
    assert abs(float(d.chi2_sf(3.84, 1)) - 0.05004352124870) < 1e-13
    assert abs(float(d.beta_quantile(0.025, 3, 10)) - 0.05486064452799273) < 1e-12
    assert abs(float(d.log_gamma(10.5)) - 13.94062521940376) < 1e-12
