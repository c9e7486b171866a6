"""Statistics the planning analytics share: intervals, discrimination, calibration, FDR.

Vectorized (numpy) forms of the estimators, so that tables of thousands of cells and
model validations on millions of people stay fast; scalar reference forms live in
:mod:`bmb.analytics.rates.intervals`, and tests check that both agree.
"""
