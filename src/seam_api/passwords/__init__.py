"""Setting a password through an emailed single-use link: password reset and invitations."""
