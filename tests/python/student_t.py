"""Golden values for report/seed_statistics.h studentT95: the two-sided 95% quantile of Student's t
(scipy.stats.t.ppf(0.975, df)), printed as JSON [[df, quantile], ...] for the degrees of freedom given."""
import json
import sys

from scipy.stats import t

print(json.dumps([[int(df), float(t.ppf(0.975, int(df)))] for df in sys.argv[1:]]))
