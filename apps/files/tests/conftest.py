"""The files tests' user: one with a Cognito sub, signed in; the local stack is up for S3."""

import uuid

import pytest
from django.contrib.auth import get_user_model


@pytest.fixture
def user(local_aws):
    return get_user_model().objects.create_user(
        username=f"u-{uuid.uuid4().hex[:6]}", sub=str(uuid.uuid4()), email="ada@example.com"
    )


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client
