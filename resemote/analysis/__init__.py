"""Tools that read datasets and trained models and report on them: Tables I and II (`stats`), a checkpoint on
another dataset (`crosseval`), re-scoring an older run (`rescore`), FER2013 against FER+'s labels (`ferplus`), and
the arithmetic the leak experiment's measurements allow (`leak_inference`). They import only the library."""
