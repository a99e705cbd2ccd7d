"""The demo recipe (`posestylizer demo`): synthetic data, training within a budget, evaluation against baselines, report."""
