"""The paper's experiments: the ablation variants of Table 2 (:mod:`.variants`) and what runs and reports them."""
