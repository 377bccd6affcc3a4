import datetime
from decimal import Decimal

import factory
from django.contrib.auth.models import Group

from accounts.models import Team, User
from customers.models import Contact, Customer, DictionaryEntry, Interaction, Tag

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.set(Group.objects.filter(name__in=extracted))
            self.is_staff = "Admin" in extracted
            self.save(update_fields=["is_staff"])


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Team {n}")

    @factory.post_generation
    def members(self, create, extracted, **kwargs):
        if create and extracted:
            self.members.set(extracted)


class DictionaryEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DictionaryEntry
        django_get_or_create = ("kind", "code")

    kind = DictionaryEntry.Kind.INDUSTRY
    code = factory.Sequence(lambda n: f"entry-{n}")
    label = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    name = factory.Sequence(lambda n: f"tag-{n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        skip_postgeneration_save = True

    name = factory.Faker("company")
    code = factory.Sequence(lambda n: f"T{n:07d}")
    email = factory.Sequence(lambda n: f"info{n}@customer.example")
    phone = factory.Sequence(lambda n: f"+86 138 {n:04d} 0000")

    @factory.post_generation
    def tags(self, create, extracted, **kwargs):
        if create and extracted:
            self.tags.add(*extracted)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"person{n}@customer.example")


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    customer = factory.SubFactory(CustomerFactory)
    kind = Interaction.Kind.CALL
    subject = factory.Faker("sentence", nb_words=4)


# --- sales ------------------------------------------------------------------------------------
class PipelineStageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "sales.PipelineStage"

    name = factory.Sequence(lambda n: f"Stage {n}")
    order = factory.Sequence(lambda n: n * 10)
    probability = 20


def stage(name: str):
    """A stage of the default pipeline (seeded by migration; see the `pipeline` fixture)."""
    from sales.models import PipelineStage

    return PipelineStage.objects.get(name=name)


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "sales.Lead"

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    company = factory.Faker("company")
    email = factory.Sequence(lambda n: f"lead{n}@prospect.example")


class OpportunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "sales.Opportunity"

    name = factory.Sequence(lambda n: f"Deal {n}")
    customer = factory.SubFactory(CustomerFactory)
    owner = factory.LazyAttribute(lambda o: o.customer.owner)
    team = factory.LazyAttribute(lambda o: o.customer.team)
    stage = factory.LazyFunction(lambda: stage("Prospecting"))
    amount = Decimal("10000.00")
    probability = factory.LazyAttribute(lambda o: o.stage.probability)
    expected_close_date = factory.LazyFunction(
        lambda: datetime.date.today() + datetime.timedelta(days=30))


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "sales.Product"

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Faker("catch_phrase")
    price = Decimal("99.00")
    stock_quantity = 100


class OrderFactory(factory.django.DjangoModelFactory):
    """A draft order; add lines with OrderLineFactory, place it with sales' order services."""

    class Meta:
        model = "sales.Order"

    number = factory.Sequence(lambda n: f"SO-T{n:06d}")
    customer = factory.SubFactory(CustomerFactory)
    owner = factory.LazyAttribute(lambda o: o.customer.owner)
    team = factory.LazyAttribute(lambda o: o.customer.team)


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "sales.OrderLine"

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1
    unit_price = factory.LazyAttribute(lambda o: o.product.price)
    line_total = factory.LazyAttribute(lambda o: o.unit_price * o.quantity)


# --- service ----------------------------------------------------------------------------------
class TicketFactory(factory.django.DjangoModelFactory):
    """A ticket row as it is stored; create real ones through service.services.ticket_create."""

    class Meta:
        model = "service.Ticket"

    number = factory.Sequence(lambda n: f"T-T{n:06d}")
    subject = factory.Faker("sentence", nb_words=5)
    description = factory.Faker("paragraph")
    customer = factory.SubFactory(CustomerFactory)
