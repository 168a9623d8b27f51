"""HTML reports built only from run directories: one page per run, one index per campaign.

In a nutshell: ``render_run_report(run_dir)`` writes ``run_dir/index.html``, a self-contained
page (inline CSS, JS and data; opens offline) with the verdict first, the evidence (recovery,
fault windows, a timeline of every op with fault windows and leaders, the counterexample drawn
per client lane) second and the details (logs, scenario, rerun command) last.
``render_campaign_index(dir, runs)`` writes ``dir/index.html`` over many runs, failures first,
sortable by any column, linking each run's report relatively.

    render_run_report(Path("reports/isolate-leader-s7"))      # …/index.html
    render_campaign_index(Path("reports/index"), run_dirs)    # reports/index/index.html
"""

from harness.report.campaign import render_campaign_index
from harness.report.page import render_run_report

__all__ = ["render_campaign_index", "render_run_report"]
