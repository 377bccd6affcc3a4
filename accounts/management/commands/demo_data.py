"""Idempotent demo data: teams and one user per role, then each module's records.

The password of every demo user is DEMO_PASSWORD from the environment (`make dev` writes a
random one into .env and prints it); running the command again changes nothing else.
"""

import os

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import roles
from accounts.models import Team, User

DEMO_USERS = [
    # email, first name, last name, title, role, team names
    ("admin@example.com", "Alex", "Admin", "CRM administrator", roles.ADMIN, []),
    ("manager@example.com", "Mia", "Wang", "Head of sales", roles.MANAGER,
     ["Sales East", "Sales West"]),
    ("sales@example.com", "Sam", "Chen", "Account executive", roles.SALES, ["Sales East"]),
    ("marketing@example.com", "Li", "Na", "Marketing manager", roles.MARKETING, ["Marketing"]),
    ("support@example.com", "Sofia", "Garcia", "Support agent", roles.SUPPORT, ["Support"]),
    ("analyst@example.com", "Ana", "Liu", "Business analyst", roles.ANALYST, []),
]

DEMO_TEAMS = [
    # name, description, manager email
    ("Sales East", "Key accounts in the eastern region.", "manager@example.com"),
    ("Sales West", "New business in the western region.", "manager@example.com"),
    ("Marketing", "Campaigns, segments and automation.", "marketing@example.com"),
    ("Support", "Customer service desk.", "support@example.com"),
]


class Command(BaseCommand):
    help = "Create (or refresh) the demo teams and one demo user per role."

    @transaction.atomic
    def handle(self, *args, **options):
        password = os.environ.get("DEMO_PASSWORD", "")
        if len(password) < 10:
            raise CommandError("Set DEMO_PASSWORD (10+ characters); `make dev` writes one to .env.")

        groups = {g.name: g for g in Group.objects.filter(name__in=roles.ROLES)}
        if len(groups) != len(roles.ROLES):
            raise CommandError("The role groups are missing: run `manage.py migrate` first.")

        users = {}
        for email, first, last, title, role, _teams in DEMO_USERS:
            user, created = User.objects.get_or_create(
                email=email, defaults={"first_name": first, "last_name": last, "title": title}
            )
            if created or not user.check_password(password):
                user.set_password(password)
                user.save(update_fields=["password"])
            if not user.groups.filter(name=role).exists():
                user.groups.add(groups[role])
            if role == roles.ADMIN and not user.is_staff:
                user.is_staff = True
                user.save(update_fields=["is_staff"])
            users[email] = user

        for name, description, manager_email in DEMO_TEAMS:
            team, _created = Team.objects.get_or_create(
                name=name,
                defaults={"description": description, "manager": users[manager_email]},
            )
            team.members.add(users[manager_email])
        for email, *_rest, team_names in DEMO_USERS:
            for team in Team.objects.filter(name__in=team_names):
                team.members.add(users[email])

        self.stdout.write(f"Users and teams: {len(DEMO_USERS)} users, {len(DEMO_TEAMS)} teams.")
        # Then every other module's demo records (crm.demo registry, filled in ready()).
        from crm import demo

        for _name, builder in demo.builders():
            builder(self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
