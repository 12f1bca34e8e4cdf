"""What the book shows, built from results only (never typed-in numbers, never the plan): the run index
and dataset summaries the engine wrote, and the paper's claims from `resemote.paper`.

- `base`: the index and dataset summaries, selection, cells and captions, the HTML table helper;
- `paper_tables`: the paper's tables as published, others' numbers, set-ups, the network's layer table;
- `tables`: computed Tables I-IV, per-run tables, provenance, compute;
- `figures`: training curves, confusion matrices, sample faces, duplicate pairs;
- `claims`: the paper's claims with verdicts computed from real-data results;
- `progress`: a long run recorded in progress: its curve so far, never a test score;
- `leak_section`: clean-test scores, the leak dose-response experiment and the audit's copies, worded (the
  inference from the leak experiment is computed in `resemote.analysis.leak_inference`, and only worded here);
- `findings`: page one: the verdict, the findings in sentences, the claims grouped, one chart per accuracy claim.
The chapters call these through this package (`from resemote.book import report; report.results_table(...)`).
"""
from resemote.book.report.entries import (CLASSES, DATASETS, NOT_RUN, SYNTHETIC_TAG, TITLES, accuracy_cell, caption,
                                          cite_runs, data_root, dataset_label, index_meta, load_datasets,
                                          load_entries, mean_sd, runs_dir, select, table)
from resemote.book.report.entries import appendix_note, coverage_lines, page_folder, run_label
from resemote.book.report.claims import claims_table, load_label_counts, verdict_counts
from resemote.book.report.other_datasets import (agreement_by_class, agreement_outcomes, agreement_summary,
                                                 dataset_notes, ferplus_scores, ferplus_table, load_agreement,
                                                 outside_claims_table)
from resemote.book.report.figures import (confusion_grid, history_grid, images_here, matrix_figure, pairs_figure,
                                          plot_confusion, plot_history, sample_grid, sensitivity_figure)
from resemote.book.report.leak_section import (clean_cell, clean_counts_table, clean_score, dose_response_figure,
                                               LEAK_EXPERIMENTS, leak_groups, leak_plan_text, leak_points, leak_reading,
                                               leak_table, load_near_precision, missing_fractions, near_precision_table,
                                               score_text)
from resemote.book.report.leak_section import grid_table
from resemote.analysis.leak_inference import inference_grid  # re-exported: the inference's own module
from resemote.book.report.findings import (Findings, best_result, claims_figure, claims_summary, colab_url,
                                           count_findings, inference, inference_conclusions, inference_intro, inference_markdown,
                                           inference_sentence, inference_table, finding_sentences, findings_markdown, load_findings,
                                           trained_markdown, untested_markdown, verdict_markdown, reading_guide,
                                           plan_made_text)
from resemote.book.report.progress import in_progress, progress_figure, progress_markdown, progress_sentence
from resemote.book.report.paper_tables import (config_table, fer2013_permutation, is_permutation, layer_table,
                                               models_table, others_table, paper_table1, paper_table2, paper_table3,
                                               setup_table)
from resemote.book.report.tables import (ablation_substitute_note, ablation_table, audit_table, baselines_table,
                                         benchmarks_table, cam_figures, commands_table, compute_table, computed_table1,
                                         cpu_epoch_estimate, cpu_estimate_markdown, label_counts_table, OTHER_BUDGET,
                                         run_budget, short_budget, cross_cells, SAME_FACES_CELL,
                                         computed_table2, cross_caption, cross_matrix, load_benchmarks, metrics_table,
                                         missing_real, pairs_table, per_class_table, profiles_table, provenance_table,
                                         released_table, results_table, sensitivity_points)

__all__ = [
    "in_progress",
    "progress_figure",
    "progress_markdown",
    "progress_sentence",
    "agreement_by_class",
    "agreement_outcomes",
    "agreement_summary",
    "dataset_notes",
    "ferplus_scores",
    "ferplus_table",
    "load_agreement",
    "outside_claims_table",
    "CLASSES",
    "DATASETS",
    "NOT_RUN",
    "SYNTHETIC_TAG",
    "TITLES",
    "ablation_substitute_note",
    "ablation_table",
    "accuracy_cell",
    "audit_table",
    "baselines_table",
    "benchmarks_table",
    "cam_figures",
    "claims_table",
    "load_label_counts",
    "caption",
    "cite_runs",
    "commands_table",
    "compute_table",
    "cpu_epoch_estimate",
    "cpu_estimate_markdown",
    "label_counts_table",
    "OTHER_BUDGET",
    "run_budget",
    "short_budget",
    "cross_cells",
    "SAME_FACES_CELL",
    "computed_table1",
    "computed_table2",
    "config_table",
    "confusion_grid",
    "cross_caption",
    "cross_matrix",
    "data_root",
    "dataset_label",
    "fer2013_permutation",
    "history_grid",
    "images_here",
    "index_meta",
    "is_permutation",
    "layer_table",
    "load_benchmarks",
    "load_datasets",
    "load_entries",
    "matrix_figure",
    "mean_sd",
    "metrics_table",
    "missing_real",
    "models_table",
    "others_table",
    "pairs_figure",
    "pairs_table",
    "paper_table1",
    "paper_table2",
    "paper_table3",
    "per_class_table",
    "plot_confusion",
    "plot_history",
    "profiles_table",
    "provenance_table",
    "released_table",
    "results_table",
    "runs_dir",
    "sample_grid",
    "select",
    "sensitivity_figure",
    "sensitivity_points",
    "setup_table",
    "table",
    "verdict_counts",
]
__all__ += ["appendix_note", "coverage_lines", "page_folder", "run_label"]  # sources and the appendix on synthetic faces
__all__ += [  # the leakage section (report/leak_section.py; the grid from analysis/leak_inference.py)
    "clean_cell",
    "clean_counts_table",
    "clean_score",
    "dose_response_figure",
    "LEAK_EXPERIMENTS",
    "leak_groups",
    "leak_plan_text",
    "leak_points",
    "leak_reading",
    "leak_table",
    "load_near_precision",
    "missing_fractions",
    "near_precision_table",
    "score_text",
    "grid_table",
    "inference_grid",
]
__all__ += [  # page one (report/findings.py)
    "Findings",
    "best_result",
    "claims_figure",
    "claims_summary",
    "colab_url",
    "count_findings",
    "inference",
    "inference_conclusions",
    "inference_intro",
    "inference_markdown",
    "inference_sentence",
    "inference_table",
    "finding_sentences",
    "findings_markdown",
    "load_findings",
    "trained_markdown",
    "untested_markdown",
    "verdict_markdown",
    "reading_guide",
    "plan_made_text",
]
