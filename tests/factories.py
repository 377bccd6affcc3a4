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
