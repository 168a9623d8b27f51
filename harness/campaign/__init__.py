"""Fault campaigns for CI: scenarios × seeds, in parallel, sharded, with JUnit XML and an index.

In a nutshell: ``plan_jobs(scenarios, seeds, shard)`` lists the runs (deterministically, so
every shard of a CI matrix agrees on the split); ``run_campaign(jobs, CampaignOptions(...))``
runs them as separate processes (each owns its cluster, network and subnet), writes
``campaign.json``, ``junit.xml`` and the index page; ``merge_campaigns`` joins shard outputs
into the same result one unsharded campaign gives.

    jobs = plan_jobs(load_scenarios([Path("scenarios/suite")]), seeds=[1, 2], shard=Shard(1, 2))
    result = run_campaign(jobs, CampaignOptions(out=Path("reports/campaign"), parallel=2))
"""

from harness.campaign.jobs import Job, Shard, parse_shard, plan_jobs
from harness.campaign.results import CampaignResult, JobResult, exit_code, merge_campaigns
from harness.campaign.runner import CampaignOptions, run_campaign

__all__ = [
    "CampaignOptions",
    "CampaignResult",
    "Job",
    "JobResult",
    "Shard",
    "exit_code",
    "merge_campaigns",
    "parse_shard",
    "plan_jobs",
    "run_campaign",
]
