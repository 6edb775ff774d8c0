"""Exercise checkers: ``check_*`` functions that give learners feedback, one module a chapter.

Each checker takes the learner's function. While the template is untouched (it raises
``NotImplementedError``) the checker prints "not attempted yet" and returns ``False``, so the
notebook still runs top to bottom. Otherwise it runs its cases, prints one line per case and,
for a wrong answer, an explanation of the likely mistake. It returns ``True`` when all pass.

(A package rather than one ``exercises.py``: each chapter's checkers with their wrong-variant
hints fill a module of their own, and chapters can be written side by side.)
"""

from .ch00 import check_discounted_return, check_run_episode
from .ch01 import check_reward_to_go, check_softmax_linear_score
from .ch02 import check_nstep_return, check_td0_update
from .ch03 import check_advantage_from_q_v, check_kstep_advantage
from .ch04 import check_effective_horizon, check_gae
from .ch05 import check_autoreset_mask, check_ppo_clip_loss
from .ch06 import check_moving_average, check_trading_rewards
from .ch07 import check_group_advantages, check_token_rewards
from .ch08 import check_explained_variance, check_lambda_return

__all__ = [
    "check_discounted_return",
    "check_run_episode",
    "check_reward_to_go",
    "check_softmax_linear_score",
    "check_td0_update",
    "check_nstep_return",
    "check_advantage_from_q_v",
    "check_kstep_advantage",
    "check_gae",
    "check_effective_horizon",
    "check_autoreset_mask",
    "check_ppo_clip_loss",
    "check_trading_rewards",
    "check_moving_average",
    "check_token_rewards",
    "check_group_advantages",
    "check_lambda_return",
    "check_explained_variance",
]
