"""What each deploy target needs (lambda, ec2, container, aws), and the tools (see README.md)."""
