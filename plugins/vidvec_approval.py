"""Approval before promotion: the standard provider's ApprovalOperator, told what to show and record.

The form shows the candidate's gates and newest audit (Markdown from
`vidvec.promote.approval_body`, computed by the `check` task) and asks for a
reason. Approve lets the swap run; Reject skips it (the operator's own
behaviour). Nobody answering within `approval_timeout_hours` applies the
default, Reject (the scheduler's awaiting-input sweep). Every answer is
recorded in the warehouse table `approvals` (who, when, why), where the
vidvec page shows it.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import Param
from airflow.sdk.definitions.param import ParamsDict


class PromotionApproval(ApprovalOperator):
    def __init__(self, *, check_task: str = "check", **kwargs):
        self.check_task = check_task
        pull = f"ti.xcom_pull(task_ids='{check_task}')"
        reason = Param(None, type=["null", "string"], maxLength=2000, source="task",
                       description="Why (optional; recorded with your answer).")
        # The DAG's Params come in too (source "dag"); the operator keeps only the task's own for the form.
        dag_params = kwargs.get("params") or ParamsDict()
        kwargs["params"] = ParamsDict({k: dag_params.get_param(k) for k in dag_params} | {"reason": reason})
        super().__init__(subject=f"{{{{ {pull}['subject'] }}}}", body=f"{{{{ {pull}['body'] }}}}",
                         defaults=self.REJECT, **kwargs)

    def execute(self, context):
        hours = context["ti"].xcom_pull(task_ids=self.check_task)["approval_timeout_hours"]  # a Param: per run
        self.response_timeout = timedelta(hours=hours) if hours else None
        return super().execute(context)

    def execute_complete(self, context, event):
        if "error" not in event:  # an answer (or the Reject default on timeout): record it first, since
            from vidvec_airflow import record_approval  # on Reject the operator ends the task by skipping

            self.validate_chosen_options(event["chosen_options"])
            record_approval(context, context["ti"].xcom_pull(task_ids=self.check_task), event)
        return super().execute_complete(context, event)
