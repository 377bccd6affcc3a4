"""The sales app's models, one module per area."""

from sales.models.catalog import Product, StockMovement  # noqa: F401
from sales.models.leads import (  # noqa: F401
    Lead,
    LeadAssignmentRule,
    LeadScoreRule,
    WebForm,
)
from sales.models.orders import CustomerPurchaseStats, Order, OrderLine  # noqa: F401
from sales.models.pipeline import (  # noqa: F401
    DevelopmentPlan,
    Opportunity,
    OpportunityStageHistory,
    PipelineRollup,
    PipelineStage,
    PlanStep,
)
from sales.models.targets import SalesTarget  # noqa: F401
