"""The customers app's models, one module per area."""

from customers.models.core import (  # noqa: F401
    Contact,
    Customer,
    CustomerTag,
    CustomerUserObjectPermission,
    DictionaryEntry,
    Interaction,
    SoftDeleteQuerySet,
    Tag,
    phone_digits,
)
from customers.models.fields import CustomFieldDefinition  # noqa: F401
from customers.models.imports import (  # noqa: F401
    ExportJob,
    ImportChange,
    ImportJob,
    ImportMapping,
)
from customers.models.segments import Segment, SegmentMember  # noqa: F401
from customers.models.tasks import Task  # noqa: F401
