from django.db import models


class ContactMessage(models.Model):
    """A message from the contact form; the attachment (if any) is a private S3 object."""

    name = models.CharField(max_length=100)
    email = models.EmailField()
    message = models.TextField(max_length=5000)
    attachment_key = models.CharField(max_length=512, blank=True)
    attachment_name = models.CharField(max_length=255, blank=True)
    language = models.CharField(max_length=8)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} <{self.email}>"
